"""A model -> its JSON document (``gpuwise model``): exact counts, shapes, parameters by part
and weight bytes per dtype."""

from __future__ import annotations

from gpuwise.memory.weights import WEIGHT_DTYPES, weights_bytes
from gpuwise.models.spec import ModelSpec
from gpuwise.render.document import envelope

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any


def model_doc(spec: ModelSpec) -> dict[str, Any]:
    """A model: exact counts, shapes, parameters by part and weight bytes per dtype."""
    doc = envelope(
        name=spec.name,
        model_type=spec.model_type,
        source=spec.source,
        kind=spec.kind,
        params=spec.params,
        active_params=spec.active_params,
        trained_params=spec.trained_params,
        counted_by=spec.counted_by,
        shapes={
            "vocab_size": spec.vocab_size,
            "hidden_size": spec.hidden_size,
            "num_layers": spec.num_layers,
            "num_attention_heads": spec.num_attention_heads,
            "num_kv_heads": spec.num_kv_heads,
            "head_dim": spec.head_dim,
            "intermediate_size": spec.intermediate_size,
            "max_position_embeddings": spec.max_position_embeddings,
            "tie_word_embeddings": spec.tie_word_embeddings,
            "attention": spec.attention,
            "mlp": spec.mlp,
            "norm": spec.norm,
            "activation": spec.activation,
            "num_experts": spec.num_experts,
            "num_experts_per_tok": spec.num_experts_per_tok,
            "moe_layers": spec.moe_layers,
            "sliding_window": spec.sliding_window,
            "kv_lora_rank": spec.kv_lora_rank,
            "qk_rope_head_dim": spec.qk_rope_head_dim,
            "v_head_dim": spec.v_head_dim,
            "dtype": spec.dtype,
        },
        params_by_part=spec.params_by_part(),
        weights_bytes={d: weights_bytes(spec, d) for d in WEIGHT_DTYPES},
        assumptions=list(spec.assumptions),
    )
    if spec.kind == "encoder":
        doc["trained_params_by_part"] = spec.params_by_part(spec.train_blocks)
    return doc
