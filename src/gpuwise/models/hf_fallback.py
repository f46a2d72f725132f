"""The one slow path: count a model_type gpuwise has no rule for with transformers itself.

The model is built from its config on PyTorch's meta device (no memory, no weights); its
parameters are grouped into ParamBlocks by name pattern. Imported only when needed.
"""

from __future__ import annotations

import importlib.util
import re
from typing import Any

from gpuwise.errors import GpuwiseError
from gpuwise.models.families import Shape
from gpuwise.models.spec import ParamBlock


def available() -> bool:
    return all(importlib.util.find_spec(m) is not None for m in ("torch", "transformers"))


_PARTS = (
    (re.compile(r"lm_head|embed_out|output_layer"), "lm_head"),
    (re.compile(r"pos|wpe|token_type"), "position_embedding"),
    (re.compile(r"embed|wte|word_embeddings"), "embedding"),
    (re.compile(r"experts"), "experts"),
    (re.compile(r"router|\.gate\b|gate\.weight"), "router"),
    (re.compile(r"norm|ln_|LayerNorm"), "norm"),
    (re.compile(r"attn|attention|self_attn|q_proj|k_proj|v_proj|o_proj"), "attention"),
    (re.compile(r"mlp|ffn|feed_forward|dense|fc"), "mlp"),
)


def _part(name: str) -> str:
    for pattern, part in _PARTS:
        if pattern.search(name):
            return part
    return "mlp"


def shape_from_transformers(
    config: dict[str, Any], model_type: str, where: str, trust_remote_code: bool
) -> tuple[Shape, str]:
    import torch
    import transformers

    kwargs = {k: v for k, v in config.items() if k != "model_type"}
    try:
        cfg = transformers.AutoConfig.for_model(model_type, **kwargs)
    except (ValueError, KeyError) as e:
        raise GpuwiseError(
            f"{where}: transformers {transformers.__version__} does not know "
            f"model_type '{model_type}' ({str(e).splitlines()[0][:120]})"
        ) from None
    except (TypeError, AttributeError) as e:
        raise GpuwiseError(
            f"{where}: transformers rejected the config ({str(e).splitlines()[0][:160]})"
        ) from None
    model = None
    for auto in (transformers.AutoModelForCausalLM, transformers.AutoModel):
        try:
            with torch.device("meta"):
                model = auto.from_config(cfg, trust_remote_code=trust_remote_code)
            break
        except ValueError:
            continue
        except Exception as e:  # transformers raises many kinds on a bad config
            raise GpuwiseError(
                f"{where}: transformers could not build the model "
                f"({e.__class__.__name__}: {str(e).splitlines()[0][:160]})"
            ) from None
    if model is None:
        raise GpuwiseError(
            f"{where}: transformers has no causal-LM or base model class for "
            f"model_type '{model_type}'"
        )

    linear_names = {n for n, m in model.named_modules() if isinstance(m, torch.nn.Linear)}
    grouped: dict[tuple[str, tuple[int, ...]], int] = {}
    for pname, param in model.named_parameters():
        pattern = re.sub(r"\.\d+\.", ".*.", pname)
        key = (pattern, tuple(param.shape))
        grouped[key] = grouped.get(key, 0) + 1
    blocks = []
    for (pattern, dims), count in grouped.items():
        module = pattern.rsplit(".", 1)[0]
        is_linear = pattern.endswith(".weight") and any(
            re.fullmatch(re.escape(module).replace(r"\*", r"\d+"), n) for n in linear_names
        )
        blocks.append(ParamBlock(pattern, _part(pattern), dims, count, linear=is_linear))

    def attr(*names: str, default: int = 0) -> int:
        for n in names:
            value = getattr(cfg, n, None)
            if isinstance(value, int) and not isinstance(value, bool):
                return value
        return default

    hidden = attr("hidden_size", "d_model", "n_embd")
    heads = attr("num_attention_heads", "n_head", default=1)
    kv = attr("num_key_value_heads", default=heads)
    shape = Shape(
        kind="decoder",
        vocab_size=attr("vocab_size"),
        hidden_size=hidden,
        num_layers=attr("num_hidden_layers", "n_layer", "num_layers"),
        num_attention_heads=heads,
        num_kv_heads=kv,
        head_dim=attr("head_dim", default=hidden // max(heads, 1)),
        intermediate_size=attr("intermediate_size", "ffn_dim", "n_inner", default=4 * hidden),
        max_position_embeddings=attr("max_position_embeddings", default=0) or None,
        tie_word_embeddings=bool(getattr(cfg, "tie_word_embeddings", False)),
        attention="mha" if kv == heads else ("mqa" if kv == 1 else "gqa"),
        mlp="unknown",
        norm="unknown",
        activation=str(getattr(cfg, "hidden_act", "unknown")),
        blocks=blocks,
    )
    return shape, transformers.__version__
