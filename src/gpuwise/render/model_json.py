"""A model -> its JSON document (``gpuwise model``): exact counts, shapes, parameters by part
and weight bytes per dtype: transformers' (fp32, bf16, fp16, int8, nf4, as before) and every
other weight type (GGUF file types, awq, gptq, fp8), computed tensor by tensor
(:mod:`gpuwise.models.weight_types`). A model read from a GGUF file adds ``gguf``: its file
type, its exact weight bytes and how many tensors of each ggml type it holds."""

from __future__ import annotations

from gpuwise.memory.weights import WEIGHT_DTYPES, weights_bytes
from gpuwise.models import weight_types
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
        weights_bytes=all_weights_bytes(spec),
        assumptions=list(spec.assumptions),
    )
    if "gguf_tensors" in spec.extra:
        doc["gguf"] = _gguf_file(spec)
    if spec.kind == "encoder":
        doc["trained_params_by_part"] = spec.params_by_part(spec.train_blocks)
    return doc


def all_weights_bytes(spec: ModelSpec) -> dict[str, int]:
    """Bytes of the weights in every type, by its lowercase key: transformers' dtypes as
    transformers holds them, then each weight type of :mod:`gpuwise.models.weight_types`."""
    out = {d: weights_bytes(spec, d) for d in WEIGHT_DTYPES}
    for key in weight_types.WEIGHT_TYPES:
        if key not in out:
            out[key] = weight_types.weights_bytes(spec, key)
    return out


def _gguf_file(spec: ModelSpec) -> dict[str, Any]:
    tensors = weight_types.tensor_weights(spec, weight_types.FILE)
    counts: dict[str, int] = {}
    for t in tensors:
        counts[t.ggml_type] = counts.get(t.ggml_type, 0) + 1
    return {
        "file_type": spec.extra.get("gguf_file_type"),
        "weights_bytes": sum(t.bytes for t in tensors),
        "tensors": len(tensors),
        "tensor_types": dict(sorted(counts.items(), key=lambda kv: -kv[1])),
    }
