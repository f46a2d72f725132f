"""Bytes of the KV cache: keys and values of every KV head in every layer.

Multi-head and grouped-query attention cache ``2 x num_kv_heads x head_dim`` elements per token
and layer. MLA (DeepSeek) is counted as transformers caches it: decompressed per-head keys
(``qk_nope_head_dim + qk_rope_head_dim``) and values (``v_head_dim``) for every query head.
Sliding-window layers keep at most the window once decoding has begun.
"""

from __future__ import annotations

from gpuwise.models.spec import ModelSpec
from gpuwise.units import DTYPE_BYTES


def kv_cache_bytes(
    spec: ModelSpec, batch: int, context: int, dtype: str, *, prefill: bool = False
) -> int:
    """Bytes of the KV cache of ``batch`` sequences of ``context`` tokens stored as ``dtype``.

    ``prefill=True``: right after a prefill a sliding layer's cache is a view of the whole
    prompt's keys and values (the view keeps their storage); the first decode step trims it to
    the window, which is what a decode step reads (``prefill=False``).
    """
    elem = DTYPE_BYTES[dtype]
    if spec.attention == "mla":
        d_qk, d_v = spec.head_dims
        per_token_layer = spec.num_attention_heads * (d_qk + d_v)
    else:
        per_token_layer = 2 * spec.num_kv_heads * spec.head_dim
    sliding = 0 if prefill else spec.sliding_layers
    window = min(context, spec.sliding_window or context)
    tokens = (spec.num_layers - sliding) * context + sliding * window
    return batch * tokens * per_token_layer * elem
