"""Run the whole bench and put its results in one document (the ``bench --json`` contract)."""

from __future__ import annotations

import datetime
import platform
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from gpuwise.bench.bandwidth import device_copy, host_copies
from gpuwise.bench.device import Device
from gpuwise.bench.matmul import DTYPES, run_matmul
from gpuwise.i18n import Message
from gpuwise.timing.calibration import BENCH_KIND
from gpuwise.units import GIB, MIB


@dataclass(frozen=True)
class Sizes:
    """How big and how long each measurement is on a device."""

    matmul: int
    copy_bytes: int
    host_bytes: int
    min_s: float


def sizes(kind: str, quick: bool) -> Sizes:
    """8192³ products and 1 GiB copies fill a GPU; the CPU gets sizes it finishes in seconds."""
    if kind == "cuda":
        return Sizes(4096, 256 * MIB, 64 * MIB, 0.05) if quick else Sizes(8192, GIB, 256 * MIB, 0.3)
    return Sizes(256, 16 * MIB, 0, 0.02) if quick else Sizes(1024, 256 * MIB, 0, 0.3)


def steps(train: bool) -> list[str]:
    """The names of the bench's steps, for the progress bar."""
    return [f"matmul {d}" for d in DTYPES] + ["bandwidth"] + (["train step"] if train else [])


def run_bench(
    dev: Device,
    *,
    quick: bool = False,
    train: bool = True,
    progress: Callable[[str], None] = lambda name: None,
) -> dict[str, Any]:
    """Every measurement on ``dev``; ``progress(name)`` is called as each one starts."""
    from gpuwise._version import SCHEMA_VERSION, __version__

    started = time.perf_counter()
    size = sizes(dev.kind, quick)
    matmul = []
    for dtype in DTYPES:
        progress(f"matmul {dtype}")
        matmul.append(run_matmul(dev, dtype, size.matmul, size.min_s).to_dict())
    progress("bandwidth")
    bandwidth = [device_copy(dev, size.copy_bytes, size.min_s).to_dict()]
    bandwidth += [r.to_dict() for r in host_copies(dev, size.host_bytes, size.min_s)]
    train_step = None
    if train:
        progress("train step")
        from gpuwise.bench.train_step import run_train_step

        train_step = run_train_step(dev, quick)
    return {
        "schema_version": SCHEMA_VERSION,
        "gpuwise_version": __version__,
        "kind": BENCH_KIND,
        "date": datetime.date.today().isoformat(),
        "device": dev.kind,
        "device_name": dev.name,
        "card": _card(dev),
        "quick": quick,
        "matmul": matmul,
        "bandwidth": bandwidth,
        "train_step": train_step,
        "versions": _versions(dev),
        "seconds": round(time.perf_counter() - started, 2),
        "notes": [str(n) for n in _notes(dev)],  # said in the language in use
    }


def _card(dev: Device) -> dict[str, Any] | None:
    if dev.card is None:
        return None
    from gpuwise.catalog import catalog_meta

    return {
        "name": dev.card.name,
        "slug": dev.card.slug,
        "catalog_date": catalog_meta()["catalog_date"],
    }


def _versions(dev: Device) -> dict[str, str]:
    torch = dev.torch
    out = {"python": platform.python_version(), "torch": str(torch.__version__)}
    if dev.kind == "cuda":
        out["cuda"] = str(torch.version.cuda)
    else:
        out["cpu_threads"] = str(torch.get_num_threads())
    return out


def _notes(dev: Device) -> list[Message]:
    if dev.kind == "cpu":
        return [Message("bench.note.cpu")]
    if dev.card is None:
        return [Message("bench.note.not_catalogued", name=repr(dev.name))]
    return [Message("bench.note.spec")]
