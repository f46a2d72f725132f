"""Bytes of a model's weights when stored in a given dtype, for the memory model.

transformers' dtypes and bitsandbytes' int8 / nf4 (:mod:`gpuwise.models.hf_layouts`, with the
rules and where they were read), and the AWQ / GPTQ / FP8 checkpoint layouts
(:mod:`gpuwise.models.weight_types`, data/quant_formats.json there: 4-bit groups of 128, FP8
with a scale per output channel).
"""

from __future__ import annotations

import functools

from gpuwise.models.hf_layouts import (
    NF4_BLOCK,
    NF4_NESTED_BLOCK,
    NF4_PER_TENSOR_BYTES,
    WEIGHT_DTYPES,
    nf4_bytes,
    quantized,
)
from gpuwise.models.hf_layouts import weights_bytes as _hf_bytes
from gpuwise.models.spec import ModelSpec, ParamBlock

__all__ = [
    "CHECKPOINT_DTYPES",
    "NF4_BLOCK",
    "NF4_NESTED_BLOCK",
    "NF4_PER_TENSOR_BYTES",
    "WEIGHT_DTYPES",
    "nf4_bytes",
    "quantized",
    "weights_bytes",
]

#: Checkpoint formats ``weights_bytes`` also takes.
CHECKPOINT_DTYPES = ("awq", "gptq", "fp8")


@functools.lru_cache(maxsize=512)
def weights_bytes(spec: ModelSpec, dtype: str, blocks: tuple[ParamBlock, ...] | None = None) -> int:
    """Bytes of the weights stored as ``dtype`` (one of :data:`WEIGHT_DTYPES` or
    :data:`CHECKPOINT_DTYPES`). Cached: the searches over batch and context ask again and
    again."""
    if dtype in CHECKPOINT_DTYPES:
        from gpuwise.models.weight_types import checkpoint_bytes

        return checkpoint_bytes(spec, dtype, blocks)
    return _hf_bytes(spec, dtype, blocks)
