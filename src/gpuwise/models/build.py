"""Turn a config dict into a ModelSpec: gpuwise's rules, or transformers on the meta device."""

from __future__ import annotations

import sys

from gpuwise.errors import GpuwiseError
from gpuwise.i18n import Message
from gpuwise.models.config_reader import ConfigReader
from gpuwise.models.families import RULES, Shape, UnsupportedVariant
from gpuwise.models.spec import RULES_COUNTED, ModelSpec

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

    from gpuwise.i18n import Text


def spec_from_config(
    config: Any,
    *,
    name: str,
    source: Text,
    where: Text,
    trust_remote_code: bool = False,
    assumptions: tuple[Text, ...] = (),
    folder: str | None = None,
) -> ModelSpec:
    """The ModelSpec of a parsed config.json (``where`` names it in error messages; ``folder``
    is the model folder holding it, the only place code shipped with a model is run from)."""
    if not isinstance(config, dict):
        raise GpuwiseError(Message("models.not_object", where=where, got=type(config).__name__))
    model_type = config.get("model_type")
    if not isinstance(model_type, str) or not model_type:
        raise GpuwiseError(Message("models.no_model_type", where=where))
    if model_type in RULES:
        try:
            shape = RULES[model_type](ConfigReader(config, model_type, where))
            return _spec(shape, config, model_type, name, source, assumptions)
        except UnsupportedVariant as e:
            reason = Message("models.variant_not_modelled", variant=str(e))
    else:
        reason = Message("models.no_rule", model_type=model_type)
    return _fallback(
        config, model_type, name, source, where, trust_remote_code, assumptions, reason, folder
    )


def _spec(
    shape: Shape,
    config: dict[str, Any],
    model_type: str,
    name: str,
    source: Text,
    assumptions: tuple[Text, ...],
    counted_by: Text = RULES_COUNTED,
) -> ModelSpec:
    dtype = config.get("torch_dtype") or config.get("dtype")
    blocks = tuple(shape.blocks)
    return ModelSpec(
        name=name,
        model_type=model_type,
        source=source,
        kind=shape.kind,
        vocab_size=shape.vocab_size,
        hidden_size=shape.hidden_size,
        num_layers=shape.num_layers,
        num_attention_heads=shape.num_attention_heads,
        num_kv_heads=shape.num_kv_heads,
        head_dim=shape.head_dim,
        intermediate_size=shape.intermediate_size,
        max_position_embeddings=shape.max_position_embeddings,
        tie_word_embeddings=shape.tie_word_embeddings,
        attention=shape.attention,
        mlp=shape.mlp,
        norm=shape.norm,
        activation=shape.activation,
        blocks=blocks,
        train_blocks=tuple(shape.train_blocks) if shape.train_blocks is not None else blocks,
        num_experts=shape.num_experts,
        num_experts_per_tok=shape.num_experts_per_tok,
        moe_layers=shape.moe_layers,
        sliding_window=shape.sliding_window,
        layer_types=shape.layer_types,
        kv_lora_rank=shape.kv_lora_rank,
        qk_rope_head_dim=shape.qk_rope_head_dim,
        v_head_dim=shape.v_head_dim,
        dtype=dtype if isinstance(dtype, str) else None,
        assumptions=assumptions,
        counted_by=counted_by,
        extra=shape.extra,
    )


def _fallback(
    config: dict[str, Any],
    model_type: str,
    name: str,
    source: Text,
    where: Text,
    trust_remote_code: bool,
    assumptions: tuple[Text, ...],
    reason: Message,
    folder: str | None,
) -> ModelSpec:
    if config.get("auto_map") and not trust_remote_code:
        raise GpuwiseError(Message("models.remote_code", where=where, reason=reason))
    from gpuwise.models import hf_fallback

    if not hf_fallback.available():
        raise GpuwiseError(
            Message("models.needs_hf", where=where, reason=reason, rules=", ".join(sorted(RULES)))
        )
    from pathlib import Path

    shape, version = hf_fallback.shape_from_transformers(
        config,
        model_type,
        where,
        folder=None if folder is None else Path(folder),
        trust_remote_code=trust_remote_code,
    )
    # Said once counted, so that a refusal stays the one line on stderr.
    print(Message("models.slow_path", reason=reason), file=sys.stderr)
    note = Message("models.counted_on_meta", reason=reason, version=version)
    return _spec(
        shape,
        config,
        model_type,
        name,
        source,
        (*assumptions, note),
        counted_by=Message("models.counted_by.transformers", version=version),
    )
