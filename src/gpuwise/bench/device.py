"""The device a bench runs on: CUDA device 0 when there is one, else the CPU; its catalogue
card (None on the CPU or for a card the catalogue lacks) and the slug its results are saved as."""

from __future__ import annotations

import platform
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from gpuwise.catalog import Card
from gpuwise.errors import GpuwiseError
from gpuwise.i18n import Message


@dataclass
class Device:
    """Where the bench runs. ``kind`` is "cuda" or "cpu"."""

    kind: str
    name: str
    card: Card | None
    torch: Any

    @property
    def slug(self) -> str:
        """File name of the saved results: the card's slug, else a slug of the device name."""
        if self.card is not None:
            return self.card.slug
        text = "".join(c if c.isalnum() else "-" for c in self.name.lower())
        return "-".join(part for part in text.split("-") if part) or self.kind

    def sync(self) -> None:
        if self.kind == "cuda":
            self.torch.cuda.synchronize()

    def timed(self, fn: Callable[[], Any], min_s: float, max_iters: int = 10_000) -> float:
        """Seconds per call of ``fn``: one warm-up call, one synchronized call to size the run,
        then ``min_s`` worth of calls (3 at least) between two synchronizations."""
        fn()
        self.sync()
        start = time.perf_counter()
        fn()
        self.sync()
        once = max(time.perf_counter() - start, 1e-9)
        iters = int(min(max_iters, max(3, min_s / once)))
        start = time.perf_counter()
        for _ in range(iters):
            fn()
        self.sync()
        return (time.perf_counter() - start) / iters


def import_torch() -> Any:
    try:
        import torch
    except ImportError:
        raise GpuwiseError(Message("bench.error.needs_torch")) from None
    return torch


def detect(force_cpu: bool = False) -> Device:
    """CUDA device 0, or the CPU (``force_cpu``, or when torch sees no CUDA device)."""
    torch = import_torch()
    if not force_cpu and torch.cuda.is_available():
        name = str(torch.cuda.get_device_name(0))
        total = int(torch.cuda.get_device_properties(0).total_memory)
        return Device("cuda", name, _card(name, total), torch)
    return Device("cpu", f"CPU ({platform.processor() or platform.machine()})", None, torch)


def _card(device_name: str, total_memory_bytes: int | None = None) -> Card | None:
    """The catalogue's card: the name, and the memory to tell its variants apart."""
    from gpuwise.catalog import load_catalog

    return load_catalog().for_device(device_name, total_memory_bytes)
