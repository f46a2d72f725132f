"""Bytes of a model's weights as transformers holds them: in a 16- or 32-bit dtype, or
quantized by bitsandbytes (int8, nf4).

16- and 32-bit storage is elements x bytes per element (tensors that transformers keeps in
float32 whatever the model dtype, such as DeepSeek-V3's router, stay 4 bytes).

``int8`` and ``nf4`` follow bitsandbytes as transformers applies it
(``transformers/integrations/bitsandbytes.py::replace_with_bnb_linear``): only ``nn.Linear`` and
``Conv1D`` modules are quantized, never the output embedding (``get_keys_to_not_convert``), the
input embedding, norms or fused expert tensors, which stay in the 16-bit compute dtype.

- ``int8`` (``load_in_8bit``, ``Linear8bitLt``): 1 byte per weight element plus one float32
  scale per output row (``SCB``); biases stay 16-bit.
- ``nf4`` (``load_in_4bit``, ``bnb_4bit_quant_type="nf4"``, ``bnb_4bit_use_double_quant=True`` as
  QLoRA uses it): 4 bits per element, packed; one absmax per block of 64 elements, itself
  quantized to 8 bits (double quantization) with one float32 scale per 256 blocks; per tensor,
  the 16-value NF4 code book, the 256-value 8-bit code book of the nested quantization and an
  offset, all float32 (``bitsandbytes/functional.py::quantize_4bit``, ``QuantState``).
"""

from __future__ import annotations

import math

from gpuwise.models.spec import ModelSpec, ParamBlock
from gpuwise.units import DTYPE_BYTES

#: dtypes stored as plain elements
_PLAIN = ("fp32", "bf16", "fp16")
#: dtypes ``weights_bytes`` knows, in display order.
WEIGHT_DTYPES = ("fp32", "bf16", "fp16", "int8", "nf4")

NF4_BLOCK = 64  # elements per absmax (bnb default blocksize for 4-bit)
NF4_NESTED_BLOCK = 256  # absmax values per float32 scale in double quantization
NF4_PER_TENSOR_BYTES = 4 * (16 + 256 + 1)  # NF4 code book, nested code book, offset


def quantized(block: ParamBlock) -> bool:
    return block.linear and block.part not in ("lm_head", "mlm_head")


def _int8_bytes(block: ParamBlock) -> int:
    return block.count * (block.weight_numel + 4 * block.out_features + 2 * block.bias)


def nf4_bytes(block: ParamBlock) -> int:
    n = block.weight_numel
    blocks = math.ceil(n / NF4_BLOCK)
    per = math.ceil(n / 2) + blocks + 4 * math.ceil(blocks / NF4_NESTED_BLOCK)
    return block.count * (per + NF4_PER_TENSOR_BYTES + 2 * block.bias)


def weights_bytes(spec: ModelSpec, dtype: str, blocks: tuple[ParamBlock, ...] | None = None) -> int:
    """Bytes of the weights stored as ``dtype`` (one of :data:`WEIGHT_DTYPES`)."""
    if dtype not in WEIGHT_DTYPES:
        raise ValueError(f"unknown weight dtype {dtype!r}; known: {', '.join(WEIGHT_DTYPES)}")
    total = 0
    for block in spec.blocks if blocks is None else blocks:
        if dtype in _PLAIN:
            size = 4 if block.dtype == "float32" else DTYPE_BYTES[dtype]
            total += block.numel * size
        elif not quantized(block):
            total += block.numel * (4 if block.dtype == "float32" else 2)
        elif dtype == "int8":
            total += _int8_bytes(block)
        else:
            total += nf4_bytes(block)
    return total
