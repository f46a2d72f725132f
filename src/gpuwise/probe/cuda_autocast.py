"""Make CPU autocast run in fp32 the ops that CUDA autocast runs in fp32.

CUDA's and the CPU's autocast agree on what runs in 16 bits (linear, matmul, bmm, SDPA) but not on
what is forced to fp32: CUDA also upcasts ``pow``, ``exp``, ``rsqrt``, ``log``, ``layer_norm``,
``softmax`` / ``log_softmax`` without a dtype and ``softplus``, among others
(``aten/src/ATen/autocast_mode.cpp``, the ``fp32`` and ``fp32_set_opt_dtype`` lists for CUDA).
This module covers the subset the supported model families call on 16-bit tensors under amp;
the rest (``sum``, ``cumsum``, ``prod``, norms, losses) see fp32 inputs in these models anyway.
GPT-2's ``gelu_new`` calls ``pow``, so under CUDA autocast its MLP intermediates are fp32; a CPU
simulation must keep the same bytes.

While :class:`CudaFp32Ops` is active, those functions (as ``torch.*``, ``Tensor`` methods and
``torch.nn.functional.*``) get fp32 copies of their 16-bit floating inputs whenever CPU autocast
is on. They are replaced in place rather than intercepted by a ``TorchFunctionMode``, because
gradient checkpointing recomputes layers inside the autograd engine, where modes are not active.
"""

from __future__ import annotations

import functools
from typing import Any

import torch
import torch.nn.functional as F

_LOW = (torch.float16, torch.bfloat16)
#: (owner, attribute) pairs CUDA autocast runs in fp32.
_TARGETS = [
    (owner, name)
    for owner, names in (
        (
            torch,
            (
                "pow",
                "exp",
                "expm1",
                "log",
                "log1p",
                "rsqrt",
                "reciprocal",
                "softmax",
                "log_softmax",
                "layer_norm",
            ),
        ),
        (
            torch.Tensor,
            ("pow", "__pow__", "exp", "log", "rsqrt", "reciprocal", "softmax", "log_softmax"),
        ),
        (F, ("layer_norm", "softmax", "log_softmax", "softplus")),
    )
    for name in names
]
_DTYPE_ARG = {"softmax", "log_softmax"}


def _up(x: Any) -> Any:
    if isinstance(x, torch.Tensor) and x.dtype in _LOW:
        return x.float()
    return x


def _fp32(fn: Any, name: str) -> Any:
    @functools.wraps(fn)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        if torch.is_autocast_enabled("cpu") and not (
            name in _DTYPE_ARG and kwargs.get("dtype") is not None
        ):
            args = tuple(_up(a) for a in args)
            kwargs = {k: _up(v) for k, v in kwargs.items()}
        return fn(*args, **kwargs)

    return wrapper


class CudaFp32Ops:
    """Context manager: CUDA autocast's fp32 ops, for a CPU run under autocast."""

    def __enter__(self) -> CudaFp32Ops:
        self._saved = [(owner, name, getattr(owner, name)) for owner, name in _TARGETS]
        for owner, name, fn in self._saved:
            setattr(owner, name, _fp32(fn, name))
        return self

    def __exit__(self, *exc: object) -> None:
        for owner, name, fn in self._saved:
            setattr(owner, name, fn)
