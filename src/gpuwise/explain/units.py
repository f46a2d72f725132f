"""Step 6: GB versus GiB. Cards are sold in GB ("24 GB"); nvidia-smi and PyTorch count in MiB
and GiB (2^20, 2^30 bytes). The job's and the card's figures in both, from the plan."""

from __future__ import annotations

from gpuwise.explain.step import Line, Step, line, n, per
from gpuwise.i18n import Message
from gpuwise.memory.rank import RankMemory
from gpuwise.units import GB, GIB

TYPE_CHECKING = False
if TYPE_CHECKING:
    from gpuwise.plan.make import CardPlan


def both(value: int) -> Message:
    """``value`` bytes in GB and in GiB."""
    return Message(
        "explain.units.f.both", bytes=n(value), gb=f"{value / GB:,.2f}", gib=f"{value / GIB:,.2f}"
    )


def units_step(memory: RankMemory, card: CardPlan | None) -> Step:
    lines: list[Line] = [
        line(
            "required",
            "explain.units.required",
            memory.required_bytes,
            "bytes",
            both(memory.required_bytes),
        ),
    ]
    if card is not None:
        c = card.card
        chips = round(c.memory_gb * GIB)
        lines += [
            line(
                "sold",
                "explain.units.sold",
                chips,
                "bytes",
                Message(
                    "explain.units.f.sold",
                    memory=per(c.memory_gb),
                    bytes=n(chips),
                    gb=f"{chips / GB:,.2f}",
                ),
                memory=per(c.memory_gb),
            ),
            line(
                "usable",
                "explain.units.usable",
                card.usable_bytes,
                "bytes",
                both(card.usable_bytes),
            ),
            line(
                "headroom",
                "explain.units.headroom",
                card.headroom_bytes,
                "bytes",
                both(card.headroom_bytes),
            ),
        ]
    return Step(
        "units",
        Message("explain.units.title"),
        Message("explain.units.idea", more=per(100 * (GIB / GB - 1))),
        tuple(lines),
        (Message("explain.units.note"),),
    )
