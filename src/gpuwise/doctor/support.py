"""The PyTorch range of a card: the oldest and newest release, CUDA build and driver in
gpuwise's table that work on it (beside the one install command, which is the newest)."""

from __future__ import annotations

from dataclasses import dataclass

from gpuwise.doctor.knowledge import CC, Knowledge, cuda_text


@dataclass
class Support:
    """From the verified rows of data/compat.json. ``driver_oldest``: the driver that fully
    supports the oldest CUDA build that has code for the card; ``driver_newest``: the one the
    newest build needs. ``table``: the releases the table covers (older ones may work too)."""

    torch_oldest: str | None
    torch_newest: str | None
    cuda_oldest: str | None
    cuda_newest: str | None
    driver_oldest: str | None
    driver_newest: str | None
    table: str


def torch_support(kb: Knowledge, cc: CC, os_name: str) -> Support:
    rows = [r for r in kb.releases if r["verified"]]
    table = f"{rows[-1]['version']}-{rows[0]['version']}" if rows else ""
    wheels = [w for r in rows for w in kb.wheels(r) if w.runs_on(cc, os_name)]
    if not wheels:
        return Support(None, None, None, None, None, None, table)
    releases = sorted({w.release for w in wheels}, key=lambda v: tuple(map(int, v.split("."))))
    low = min(w.cuda for w in wheels)
    high = max(w.cuda for w in wheels)
    return Support(
        releases[0],
        releases[-1],
        cuda_text(low),
        cuda_text(high),
        kb.min_driver_text(low, os_name),
        kb.min_driver_text(high, os_name),
        table,
    )
