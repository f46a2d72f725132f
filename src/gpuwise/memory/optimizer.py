"""Optimizer states and the optimizer step's temporaries, per optimizer.

- ``adamw``: ``torch.optim.AdamW`` as it runs on CUDA (foreach): two states (``exp_avg``,
  ``exp_avg_sq``) in each parameter's dtype and a 4-byte ``step`` per parameter tensor (a CPU
  scalar with foreach, on the GPU with fused; counted either way, it is a few KB); the step
  holds ``torch._foreach_sqrt(exp_avg_sqs)``, a temporary the size of all second moments
  (``torch/optim/adamw.py`` / ``adam.py``, ``_multi_tensor_adam``).
- ``adamw-fused``: the same states; the fused kernel makes no temporaries.
- ``sgd``: momentum buffer, one per parameter, foreach, no temporaries.
- ``adamw-8bit``: bitsandbytes ``AdamW8bit``: tensors of at least 4096 elements keep two uint8
  states plus one float32 absmax per block of 256 (blockwise quantization); smaller ones keep
  two float32 states (``min_8bit_size=4096``). The fused kernel makes no temporaries.
- ``adafactor``: transformers' ``Adafactor`` (``relative_step=True``, no first moment): a matrix
  keeps float32 row and column second-moment factors, a vector a float32 second moment; the
  step works one parameter at a time and holds float32 copies of that parameter's gradient and
  update (and of the parameter, when it is 16-bit): the largest parameter sets the temporary.
"""

from __future__ import annotations

import math

from gpuwise.record import record
from gpuwise.units import DTYPE_BYTES


@record
class Tensor:
    """One trainable parameter tensor: its shape, repeated ``count`` times, and its dtype."""

    shape: tuple[int, ...]
    count: int
    dtype: str

    @property
    def numel(self) -> int:
        return math.prod(self.shape)


def state_bytes(optimizer: str, tensors: list[Tensor]) -> int:
    total = 0
    for t in tensors:
        n, size = t.numel, DTYPE_BYTES[t.dtype]
        if optimizer in ("adamw", "adamw-fused"):
            per = 2 * n * size + 4
        elif optimizer == "sgd":
            per = n * size
        elif optimizer in ("adamw-8bit", "paged-adamw-8bit"):
            per = 2 * n + 8 * math.ceil(n / 256) if n >= 4096 else 8 * n
        elif len(t.shape) >= 2:  # adafactor, factored: rows shape[:-1], columns shape[:-2]+[-1]
            per = 4 * (math.prod(t.shape[:-1]) + math.prod(t.shape[:-2]) * t.shape[-1])
        else:  # adafactor, a vector: its full second moment
            per = 4 * n
        total += per * t.count
    return total


def step_temporary_bytes(optimizer: str, tensors: list[Tensor]) -> int:
    """The largest total of temporaries the step holds at once."""
    if optimizer == "adamw":
        return sum(t.numel * DTYPE_BYTES[t.dtype] * t.count for t in tensors)
    if optimizer == "adafactor":
        # per parameter, float32 and the parameter's size: the update and its next value, plus
        # (for a 16-bit parameter) float32 copies of the gradient and of the parameter
        return max(
            (t.numel * 4 * (2 if t.dtype == "fp32" else 4) for t in tensors),
            default=0,
        )
    return 0
