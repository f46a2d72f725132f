"""The memory a plan reports: the peak of live tensor bytes, its breakdown, and what a card needs.

``required_bytes`` = ``peak_allocated_bytes`` + the CUDA context + the caching allocator's
overhead, both from ``data/overhead.json`` (figures and their sources there). A card fits when
``required_bytes`` is at most what PyTorch can use on it less ``--reserve``.
"""

from __future__ import annotations

import functools

from gpuwise.packaged import packaged_json
from gpuwise.record import field, record

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Sequence
    from typing import Any

    from gpuwise.i18n import Text

KINDS = ("weights", "gradients", "optimizer", "activations", "kv_cache", "temporaries")


@functools.lru_cache(maxsize=1)
def overhead_table() -> dict[str, Any]:
    data: dict[str, Any] = packaged_json("gpuwise.memory", "data/overhead.json")
    return data


def overheads(peak: int) -> tuple[int, int]:
    """(CUDA context bytes, allocator overhead bytes) for a step that peaks at ``peak``."""
    t = overhead_table()
    context = int(t["cuda_context_mib"]) << 20
    allocator = max(int(t["allocator_min_mib"]) << 20, round(peak * float(t["allocator_fraction"])))
    return context, allocator


@record(frozen=False)
class MemoryEstimate:
    """Peak live bytes of the step, by kind, and the card memory that peak needs."""

    peak_allocated_bytes: int
    breakdown: dict[str, int]
    peak_phase: str
    context_bytes: int
    allocator_bytes: int
    terms_from: str
    notes: Sequence[Text] = field(default_factory=list)

    @property
    def required_bytes(self) -> int:
        return self.peak_allocated_bytes + self.context_bytes + self.allocator_bytes

    @classmethod
    def at_peak(
        cls, phases: dict[str, dict[str, int]], terms_from: str, notes: Sequence[Text]
    ) -> MemoryEstimate:
        """The phase with the most live bytes; its breakdown becomes the plan's."""
        clamped = {
            name: {k: max(0, int(parts.get(k, 0))) for k in KINDS} for name, parts in phases.items()
        }
        phase, breakdown = max(clamped.items(), key=lambda kv: sum(kv[1].values()))
        peak = sum(breakdown.values())
        if not breakdown["gradients"] and any(p["gradients"] for p in clamped.values()):
            from gpuwise.i18n import Message

            # a training step whose peak comes before its backward has made any gradient
            notes = [*notes, Message("memory.note.no_gradients_at_peak")]
        context, allocator = overheads(peak)
        return cls(peak, breakdown, phase, context, allocator, terms_from, notes)
