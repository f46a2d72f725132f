"""Memory bandwidth: a device-to-device copy (bytes read plus bytes written), and on CUDA
host-to-device and device-to-host copies from pinned memory (bytes moved once).

The spec for the device copy is the catalogue's ``bandwidth_gb_s``; for host copies, the
PCIe link of the card's ``pcie_gen`` x ``pcie_lanes`` per direction (128b/130b encoding from
gen 3 on; the slot the card sits in may be slower).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from gpuwise.bench.device import Device

#: PCIe transfer rate per lane, GT/s, by generation (PCI-SIG base specifications 3.0-5.0).
PCIE_GT_S = {3: 8.0, 4: 16.0, 5: 32.0}
#: Payload bits per transferred bit: 128b/130b line code from PCIe 3.0 on.
PCIE_ENCODING = 128 / 130


@dataclass
class BandwidthResult:
    kind: str  # "device copy", "host to device", "device to host"
    bytes: int
    gb_s: float
    spec_gb_s: float | None

    def to_dict(self) -> dict[str, Any]:
        frac = self.gb_s / self.spec_gb_s if self.spec_gb_s else None
        return {
            "kind": self.kind,
            "bytes": self.bytes,
            "gb_s": self.gb_s,
            "spec_gb_s": self.spec_gb_s,
            "fraction_of_spec": frac,
        }


def pcie_gb_s(gen: int | None, lanes: int | None) -> float | None:
    """One direction of a PCIe link, GB/s (None where the generation is not 3-5 or unknown)."""
    if gen not in PCIE_GT_S or not lanes:
        return None
    return PCIE_GT_S[gen] * PCIE_ENCODING / 8 * lanes


def device_copy(dev: Device, nbytes: int, min_s: float) -> BandwidthResult:
    torch = dev.torch
    if dev.kind == "cuda":  # two buffers: at most a third of what is free (2-3 GB cards)
        free, _ = torch.cuda.mem_get_info()
        nbytes = min(nbytes, free // 3)
    n = nbytes // 4
    src = torch.ones(n, device=dev.kind, dtype=torch.float32)
    dst = torch.empty_like(src)
    seconds = dev.timed(lambda: dst.copy_(src), min_s)
    moved = 2 * n * 4
    spec = float(dev.card.bandwidth_gb_s) if dev.card is not None else None
    return BandwidthResult("device copy", moved, moved / seconds / 1e9, spec)


def host_copies(dev: Device, nbytes: int, min_s: float) -> list[BandwidthResult]:
    """Pinned host <-> device copies (CUDA only)."""
    if dev.kind != "cuda":
        return []
    torch = dev.torch
    n = nbytes // 4
    host = torch.ones(n, dtype=torch.float32).pin_memory()
    gpu = torch.empty(n, device="cuda", dtype=torch.float32)
    card = dev.card
    spec = pcie_gb_s(card.pcie_gen, card.pcie_lanes) if card is not None else None
    h2d = dev.timed(lambda: gpu.copy_(host, non_blocking=True), min_s)
    d2h = dev.timed(lambda: host.copy_(gpu, non_blocking=True), min_s)
    return [
        BandwidthResult("host to device", n * 4, n * 4 / h2d / 1e9, spec),
        BandwidthResult("device to host", n * 4, n * 4 / d2h / 1e9, spec),
    ]
