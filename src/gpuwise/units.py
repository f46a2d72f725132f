"""Unit conversions and formatting, used only at the edges (tables, help texts).

Internally gpuwise works in bytes (int) and FLOP/s (float). GiB (2^30 bytes) and GB (10^9 bytes)
are different numbers; every formatted size says which it is.
"""

from __future__ import annotations

GIB = 1 << 30
MIB = 1 << 20
GB = 10**9

#: Bytes per element of each dtype a tensor is stored or computed in (quantized formats with
#: their scales, such as NF4, are counted by :mod:`gpuwise.memory.weights`).
DTYPE_BYTES = {"fp32": 4, "bf16": 2, "fp16": 2, "fp8": 1, "int8": 1}


def gib(n_bytes: float) -> str:
    """``16.00 GiB``; MiB below 1 GiB."""
    if abs(n_bytes) < GIB:
        return f"{n_bytes / MIB:,.1f} MiB"
    return f"{n_bytes / GIB:,.2f} GiB"


def count(n: int) -> str:
    """A parameter count in words: ``8.03 B``, ``124.44 M``, ``43.4 K``."""
    for unit, size in (("T", 1e12), ("B", 1e9), ("M", 1e6), ("K", 1e3)):
        if abs(n) >= size:
            return f"{n / size:,.2f} {unit}"
    return str(n)


def num(value: float | int | None, digits: int = 1, unknown: str = "—") -> str:
    """A figure for a table cell; ``—`` for None (unknown or absent)."""
    if value is None:
        return unknown
    if isinstance(value, int) or float(value).is_integer():
        return f"{int(value):,}"
    return f"{value:,.{digits}f}"
