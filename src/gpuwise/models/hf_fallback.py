"""The one slow path: count a model_type gpuwise has no rule for with transformers itself.

Every step refuses with one line (a GpuwiseError), never a traceback or a guess:

1. :func:`check_config`, before transformers is imported: the size fields gpuwise knows (anywhere
   in the config) are integers within the rule path's bound, the layer count within what a
   meta-device build does in seconds, and ``auto_map`` names classes in modules of the model's
   own folder.
2. The config object: transformers' own class for ``model_type``, or, with
   ``--trust-remote-code``, the ``AutoConfig`` class of ``auto_map`` imported from the folder the
   user named: never from the config's ``_name_or_path``, never from another repository or folder
   (``repo--module.Class``). Its values (defaults included) pass the same checks, and the
   parameter count they imply stays under :data:`MAX_PARAMS`.
3. The class, as the reference step builds it: the causal LM for a decoder; for an encoder-only
   model ``AutoModel`` (what ``gpuwise model`` counts) and ``AutoModelForMaskedLM`` (what a plan
   trains). Anything else is refused, never counted with another class.
4. The model built on PyTorch's meta device (no memory, no weights); its parameters grouped into
   ParamBlocks by name pattern.

Imported only when needed.
"""

from __future__ import annotations

import contextlib
import importlib.util
import json
import logging
import re
import warnings
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from gpuwise.errors import GpuwiseError
from gpuwise.i18n import Message, Text
from gpuwise.models.config_reader import MAX_DIM
from gpuwise.models.families import Shape
from gpuwise.models.spec import ParamBlock

#: Most layers a fallback config may have: more than any published model (Llama 3.1 405B has
#: 126). The meta-device build creates every layer's modules, about 80 µs each on two cores;
#: 200,000 layers took 120 s and 3.8 GB.
MAX_LAYERS = 1024
#: Most parameters: 10T, the largest bare size (``gpuwise model 10t``) gpuwise plans.
MAX_PARAMS = 10**13

_LAYERS = (
    "num_hidden_layers",
    "n_layer",
    "num_layers",
    "n_layers",
    "num_decoder_layers",
    "encoder_layers",
    "decoder_layers",
)
_HIDDEN = ("hidden_size", "d_model", "n_embd")
_HEADS = ("num_attention_heads", "n_head", "num_heads", "n_heads")
_KV_HEADS = ("num_key_value_heads", "num_kv_heads", "multi_query_group_num")
_VOCAB = ("vocab_size", "padded_vocab_size")
_INTERMEDIATE = ("intermediate_size", "ffn_dim", "n_inner", "d_ff", "ffn_hidden_size")
_EXPERTS = ("num_local_experts", "num_experts", "n_routed_experts", "moe_num_experts")
_OTHER_SIZES = (
    "head_dim",
    "moe_intermediate_size",
    "shared_expert_intermediate_size",
    "encoder_ffn_dim",
    "decoder_ffn_dim",
    "n_shared_experts",
    "num_experts_per_tok",
    "max_position_embeddings",
    "n_positions",
    "type_vocab_size",
)
#: field -> (smallest, largest) accepted; the rule path's minimum of 1 for the core shapes.
_BOUNDS: dict[str, tuple[int, int]] = {
    **dict.fromkeys(_INTERMEDIATE + _EXPERTS + _KV_HEADS + _OTHER_SIZES, (0, MAX_DIM)),
    **dict.fromkeys(_LAYERS, (0, MAX_LAYERS)),
    **dict.fromkeys(("num_hidden_layers", "n_layer"), (1, MAX_LAYERS)),
    **dict.fromkeys(_HIDDEN + _HEADS + _VOCAB, (1, MAX_DIM)),
}

#: auto_map entries gpuwise may use, and the one reference form it accepts for them: a module
#: file of the model's own folder and a class in it (``modeling_x.XForCausalLM``).
_AUTO_KEYS = ("AutoConfig", "AutoModelForCausalLM", "AutoModel", "AutoModelForMaskedLM")
_CLASS_REF = re.compile(r"([A-Za-z_][A-Za-z0-9_]*)\.([A-Za-z_][A-Za-z0-9_]*)")
#: Keys never passed to transformers: where code comes from, and what does not change a count
#: (the attention kernel, the dtype; a missing flash-attn must not stop a count).
_DROPPED = (
    "model_type",
    "_name_or_path",
    "name_or_path",
    "attn_implementation",
    "_attn_implementation",
    "dtype",
    "torch_dtype",
)


def available() -> bool:
    return all(importlib.util.find_spec(m) is not None for m in ("torch", "transformers"))


# -- 1. checks before transformers is imported --------------------------------------------------


def _dicts(value: Any) -> Iterator[dict[str, Any]]:
    """Every JSON object in ``value``, itself included (iteratively: no recursion limit)."""
    stack = [value]
    while stack:
        node = stack.pop()
        if isinstance(node, dict):
            yield node
            stack.extend(node.values())
        elif isinstance(node, list):
            stack.extend(node)


def _bounded(value: Any, key: str, model_type: str, where: Text) -> int:
    """``value`` of size field ``key`` checked; a list or object of sizes (per stage, per part:
    Swin's ``num_heads``, Gemma 3n's per-layer ``intermediate_size``) gives its largest, or for a
    layer count its total."""
    items = (
        value
        if isinstance(value, list)
        else list(value.values())
        if isinstance(value, dict)
        else [value]
    )
    low, high = _BOUNDS[key]
    checked = []
    for item in items:
        if isinstance(item, float) and item.is_integer():
            item = int(item)
        if isinstance(item, bool) or not isinstance(item, int) or not low <= item <= high:
            shown = repr(value) if isinstance(value, str) else json.dumps(value, default=str)
            shown = shown if len(shown) <= 60 else shown[:57] + "..."
            raise GpuwiseError(
                Message(
                    "hf.bounded_layers" if key in _LAYERS else "hf.bounded",
                    where=where,
                    field=key,
                    low=low,
                    high=high,
                    model_type=model_type,
                    got=shown,
                )
            )
        checked.append(item)
    total = sum(checked) if key in _LAYERS else max(checked, default=0)
    if total > high:
        raise GpuwiseError(
            Message(
                "hf.too_many_layers",
                where=where,
                field=key,
                total=total,
                high=high,
                model_type=model_type,
            )
        )
    return total


def check_sizes(config: dict[str, Any], model_type: str, where: Text) -> None:
    """The size fields of every object in ``config`` are integers within bounds."""
    for node in _dicts(config):
        for key in _BOUNDS.keys() & node.keys():
            if node[key] is not None:
                _bounded(node[key], key, model_type, where)


def remote_refs(
    config: dict[str, Any], where: Text, folder: Path | None, trust_remote_code: bool
) -> dict[str, str]:
    """The auto_map entries gpuwise may use: ``{"AutoModelForCausalLM": "modeling_x.X", ...}``,
    each a module file in ``folder``. Empty when the config ships no model code."""
    auto_map = config.get("auto_map")
    if not auto_map:
        return {}
    if not isinstance(auto_map, dict):
        raise GpuwiseError(Message("hf.auto_map_not_object", where=where))
    refs = {key: auto_map[key] for key in _AUTO_KEYS if auto_map.get(key) is not None}
    if not refs:
        return {}
    if not trust_remote_code:
        raise GpuwiseError(Message("hf.remote_code", where=where))
    if folder is None or not folder.is_dir():
        raise GpuwiseError(Message("hf.code_needs_folder", where=where))
    for key, ref in refs.items():
        match = _CLASS_REF.fullmatch(ref) if isinstance(ref, str) else None
        if match is None:
            shown = str(ref)[:80]
            raise GpuwiseError(
                Message("hf.auto_map_elsewhere", where=where, key=key, ref=repr(shown))
            )
        module = folder / f"{match.group(1)}.py"
        if not module.is_file():
            raise GpuwiseError(
                Message("hf.auto_map_no_file", where=where, key=key, ref=ref, module=str(module))
            )
    return refs


def check_config(
    config: dict[str, Any],
    model_type: str,
    where: Text,
    *,
    folder: Path | None = None,
    trust_remote_code: bool = False,
) -> dict[str, str]:
    """Everything refusable without transformers; returns :func:`remote_refs`."""
    check_sizes(config, model_type, where)
    return remote_refs(config, where, folder, trust_remote_code)


# -- 2 and 3. the config object and the classes ------------------------------------------------


def _say(e: BaseException) -> str:
    """An exception as one short line."""
    return f"{e.__class__.__name__}: {' '.join(str(e).split())}"[:200]


@contextlib.contextmanager
def _quiet() -> Iterator[None]:
    """No warnings or transformers log lines on stderr: gpuwise says what matters in one line."""
    from transformers.utils import logging as hf_logging

    level = hf_logging.get_verbosity()
    hf_logging.set_verbosity(logging.CRITICAL + 1)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            yield
    finally:
        hf_logging.set_verbosity(level)


def _remote_class(ref: str, folder: Path, base: type, key: str, where: Text) -> Any:
    from transformers.dynamic_module_utils import get_class_from_dynamic_module

    try:
        found = get_class_from_dynamic_module(ref, str(folder), local_files_only=True)
    except Exception as e:  # the model's own code: any exception it raises
        raise GpuwiseError(
            Message("hf.did_not_import", where=where, key=key, ref=ref, why=_say(e))
        ) from None
    if not (isinstance(found, type) and issubclass(found, base)):
        raise GpuwiseError(
            Message("hf.not_subclass", where=where, key=key, ref=ref, base=base.__name__)
        )
    return found


def _make_config(
    config: dict[str, Any], model_type: str, where: Text, refs: dict[str, str], folder: Path | None
) -> Any:
    import transformers

    kwargs = {k: v for k, v in config.items() if k not in _DROPPED}
    if "AutoConfig" in refs:
        assert folder is not None  # remote_refs checked it
        cls = _remote_class(
            refs["AutoConfig"], folder, transformers.PreTrainedConfig, "AutoConfig", where
        )
    elif model_type in transformers.CONFIG_MAPPING:
        cls = transformers.CONFIG_MAPPING[model_type]
    else:
        raise GpuwiseError(
            Message(
                "hf.unknown_type_has_code" if refs else "hf.unknown_type",
                where=where,
                version=transformers.__version__,
                model_type=model_type,
            )
        )
    try:
        cfg = cls(**kwargs)
    except Exception as e:  # transformers (or the model's code) rejects a config many ways
        raise GpuwiseError(Message("hf.rejected", where=where, why=_say(e))) from None
    # Code is only ever looked up in the folder the user named, whatever the file says.
    cfg._name_or_path = str(folder) if folder is not None else ""
    return cfg


def _values(cfg: Any, where: Text) -> dict[str, Any]:
    try:
        values = cfg.to_dict()
    except Exception as e:
        raise GpuwiseError(Message("hf.rejected", where=where, why=_say(e))) from None
    if not isinstance(values, dict):
        raise GpuwiseError(
            Message("hf.rejected", where=where, why=Message("hf.to_dict_not_object"))
        )
    return values


def _first(source: Any, names: tuple[str, ...], default: int = 0) -> int:
    """The first of ``names`` that ``source`` (a config object, through transformers'
    attribute_map, or a dict) holds as an integer."""
    for name in names:
        try:
            value = source.get(name) if isinstance(source, dict) else getattr(source, name, None)
        except Exception:  # a config class of the model's own code may raise anything
            value = None
        if isinstance(value, int) and not isinstance(value, bool):
            return value
    return default


def _text_config(cfg: Any) -> Any:
    """The language model's config: ``cfg`` itself, or the text part of a composite config."""
    try:
        return cfg.get_text_config()
    except Exception:  # a config class of the model's own code may lack or break it
        return cfg


def check_values(values: dict[str, Any], text: Any, model_type: str, where: Text) -> None:
    """The config as transformers fills it in (``values``, defaults too) passes the size checks,
    and the parameters its text model implies (an embedding and two matrices a layer, fewer than
    any real model has) stay under :data:`MAX_PARAMS`."""
    check_sizes(values, model_type, where)
    implied = _first(text, _HIDDEN) * (
        _first(text, _VOCAB) + 2 * _first(text, _LAYERS) * _first(text, _INTERMEDIATE)
    )
    if implied > MAX_PARAMS:
        raise GpuwiseError(
            Message(
                "hf.implied_too_big", where=where, implied=f"{implied:,}", most=f"{MAX_PARAMS:,}"
            )
        )


def _classes(
    cfg: Any, refs: dict[str, str], folder: Path | None, model_type: str, where: Text
) -> tuple[str, Any, Any]:
    """``(kind, class counted, class trained)`` as the reference step builds the model."""
    import transformers

    if getattr(cfg, "is_encoder_decoder", False) is True:
        raise GpuwiseError(Message("hf.encoder_decoder", where=where, model_type=model_type))

    def find(auto: Any) -> Any:
        key = auto.__name__
        if key in refs:
            assert folder is not None  # remote_refs checked it
            return _remote_class(refs[key], folder, transformers.PreTrainedModel, key, where)
        if type(cfg) in auto._model_mapping:
            return auto
        return None

    causal = find(transformers.AutoModelForCausalLM)
    masked = find(transformers.AutoModelForMaskedLM)
    base = find(transformers.AutoModel) if masked is not None else None
    encoder_only = causal is None or getattr(cfg, "is_decoder", False) is not True
    if masked is not None and base is not None and encoder_only:
        return "encoder", base, masked
    if causal is not None:
        return "decoder", causal, causal
    if refs:
        raise GpuwiseError(
            Message(
                "hf.no_class_refs",
                where=where,
                model_type=model_type,
                refs=", ".join(sorted(refs)),
            )
        )
    raise GpuwiseError(Message("hf.no_class", where=where, model_type=model_type))


# -- 4. the build ------------------------------------------------------------------------------


def _build(cls: Any, cfg: Any, where: Text) -> Any:
    import torch
    import transformers

    try:
        with torch.device("meta"):
            if isinstance(cls, type) and issubclass(cls, transformers.PreTrainedModel):
                return cls._from_config(cfg)
            return cls.from_config(cfg, trust_remote_code=False)
    except Exception as e:  # transformers (or the model's code) raises many kinds
        raise GpuwiseError(Message("hf.could_not_build", where=where, why=_say(e))) from None


_PARTS = (
    (re.compile(r"pooler"), "pooler"),
    (re.compile(r"lm_head|embed_out|output_layer\b"), "lm_head"),
    (re.compile(r"wpe|pos_emb|position_emb|embed_positions|token_type"), "position_embedding"),
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


def _pattern(name: str) -> str:
    """``model.layers.3.mlp.up_proj.weight`` -> ``model.layers.*.mlp.up_proj.weight``."""
    return re.sub(r"\.\d+(?=\.)", ".*", name)


def _blocks(model: Any, masked_lm: bool) -> list[ParamBlock]:
    """The parameters of ``model`` grouped by name pattern and shape. In a masked-LM model,
    what lies outside its encoder (``base_model_prefix``) is the masked-LM head."""
    import torch
    from transformers.pytorch_utils import Conv1D

    linear: dict[str, bool] = {}  # module pattern -> stores its weight transposed (Conv1D)
    for name, module in model.named_modules():
        if isinstance(module, (torch.nn.Linear, Conv1D)):
            linear[_pattern(name)] = isinstance(module, Conv1D)
    prefix = getattr(model, "base_model_prefix", "") or ""
    grouped: dict[tuple[str, tuple[int, ...]], int] = {}
    for pname, param in model.named_parameters():
        key = (_pattern(pname), tuple(param.shape))
        grouped[key] = grouped.get(key, 0) + 1
    blocks = []
    for (pattern, dims), count in grouped.items():
        module, _, leaf = pattern.rpartition(".")
        is_linear = leaf == "weight" and module in linear
        head = masked_lm and not pattern.startswith(f"{prefix}.")
        blocks.append(
            ParamBlock(
                pattern,
                "mlm_head" if head else _part(pattern),
                dims,
                count,
                linear=is_linear,
                transposed=is_linear and linear[module],
            )
        )
    return blocks


def shape_from_transformers(
    config: dict[str, Any],
    model_type: str,
    where: Text,
    *,
    folder: Path | None = None,
    trust_remote_code: bool = False,
) -> tuple[Shape, str]:
    """The Shape of ``config`` as transformers builds it, and the transformers version."""
    refs = check_config(
        config, model_type, where, folder=folder, trust_remote_code=trust_remote_code
    )
    import transformers

    with _quiet():
        cfg = _make_config(config, model_type, where, refs, folder)
        text = _text_config(cfg)
        check_values(_values(cfg, where), text, model_type, where)
        kind, counted, trained = _classes(cfg, refs, folder, model_type, where)
        model = _build(counted, cfg, where)
        blocks = _blocks(model, masked_lm=False)
        train_blocks = blocks
        if trained is not counted:
            train_blocks = _blocks(_build(trained, cfg, where), masked_lm=True)
    params = max(sum(b.numel for b in blocks), sum(b.numel for b in train_blocks))
    if params > MAX_PARAMS:
        raise GpuwiseError(
            Message("hf.too_big", where=where, params=f"{params:,}", most=f"{MAX_PARAMS:,}")
        )
    return _shape(text, kind, blocks, train_blocks, where), transformers.__version__


def _shape(
    text: Any,
    kind: str,
    blocks: list[ParamBlock],
    train_blocks: list[ParamBlock],
    where: Text,
) -> Shape:
    hidden = _first(text, _HIDDEN)
    layers = _first(text, _LAYERS)
    if hidden < 1 or layers < 1:
        raise GpuwiseError(
            Message(
                "hf.no_sizes",
                where=where,
                hidden=", ".join(_HIDDEN),
                layers=", ".join(_LAYERS[:4]),
            )
        )
    heads = _first(text, _HEADS, default=1) or 1
    kv = _first(text, _KV_HEADS, default=heads) or heads
    return Shape(
        kind=kind,
        vocab_size=_first(text, _VOCAB),
        hidden_size=hidden,
        num_layers=layers,
        num_attention_heads=heads,
        num_kv_heads=kv,
        head_dim=_first(text, ("head_dim",)) or max(hidden // heads, 1),
        intermediate_size=_first(text, _INTERMEDIATE) or 4 * hidden,
        max_position_embeddings=_first(text, ("max_position_embeddings", "n_positions")) or None,
        tie_word_embeddings=getattr(text, "tie_word_embeddings", False) is True,
        attention="mha" if kv == heads else ("mqa" if kv == 1 else "gqa"),
        mlp="unknown",
        norm="unknown",
        activation=str(getattr(text, "hidden_act", None) or "unknown"),
        blocks=blocks,
        train_blocks=train_blocks,
    )
