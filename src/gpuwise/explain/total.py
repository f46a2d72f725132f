"""Step 4: the total. The breakdown at the step's peak, the CUDA context and the caching
allocator's overhead on top (``memory/data/overhead.json``), what the card must have, and
against the memory PyTorch can use on the card: fits or not. Every figure is the plan's."""

from __future__ import annotations

from gpuwise.catalog import usable_memory
from gpuwise.explain.activations import phase
from gpuwise.explain.step import Line, Step, line, n, per
from gpuwise.i18n import Message
from gpuwise.memory.estimate import KINDS, overhead_table
from gpuwise.memory.rank import RankMemory

TYPE_CHECKING = False
if TYPE_CHECKING:
    from gpuwise.plan.make import CardPlan

#: Each kind of the breakdown, said.
KIND_LABELS = {
    "weights": "explain.total.kind.weights",
    "gradients": "explain.total.kind.gradients",
    "optimizer": "explain.total.kind.optimizer",
    "activations": "explain.total.kind.activations",
    "kv_cache": "explain.total.kind.kv_cache",
    "temporaries": "explain.total.kind.temporaries",
}
assert set(KIND_LABELS) == set(KINDS)


def total_step(memory: RankMemory, card: CardPlan | None, reserve: int = 0) -> Step:
    """The breakdown at the peak, the overheads on top, and against ``card`` (with ``reserve``
    bytes of it kept for other uses) the headroom and the verdict."""
    e = memory.estimate
    table = overhead_table()
    lines: list[Line] = [
        line(f"breakdown.{kind}", KIND_LABELS[kind], e.breakdown[kind], "bytes")
        for kind in KINDS
        if e.breakdown.get(kind)
    ]
    lines += [
        line(
            "peak_allocated",
            "explain.total.peak",
            e.peak_allocated_bytes,
            "bytes",
            Message("explain.total.f.peak", phase=phase(e.peak_phase)),
        ),
        line(
            "cuda_context",
            "explain.total.context",
            e.context_bytes,
            "bytes",
            Message("explain.total.f.context", mib=n(table["cuda_context_mib"])),
        ),
        line(
            "allocator",
            "explain.total.allocator",
            e.allocator_bytes,
            "bytes",
            Message(
                "explain.total.f.allocator",
                mib=n(table["allocator_min_mib"]),
                pct=per(100 * float(table["allocator_fraction"])),
            ),
        ),
        line(
            "required",
            "explain.total.required",
            e.required_bytes,
            "bytes",
            Message("explain.total.f.required"),
        ),
    ]
    notes = [Message("explain.total.note.overhead")]
    if card is None:
        notes.append(Message("explain.total.note.no_card"))
    else:
        lines += [
            line(
                "usable",
                "explain.total.usable",
                card.usable_bytes,
                "bytes",
                usable_memory(card.card).how,
                card=card.card.name,
            ),
        ]
        if reserve:
            lines.append(
                line(
                    "reserve",
                    "explain.total.reserve",
                    reserve,
                    "bytes",
                    Message("explain.total.f.reserve"),
                )
            )
        headroom = "explain.total.f.headroom_reserve" if reserve else "explain.total.f.headroom"
        lines += [
            line(
                "headroom",
                "explain.total.headroom",
                card.headroom_bytes,
                "bytes",
                Message(headroom),
            ),
            line("fits", "explain.total.fits", card.fits, "bool", card=card.card.name),
        ]
        if card.problems:
            notes.append(
                Message(
                    "explain.total.note.cannot",
                    card=card.card.name,
                    why="; ".join(str(p) for p in card.problems),
                )
            )
    return Step(
        "total",
        Message("explain.total.title"),
        Message("explain.total.idea"),
        tuple(lines),
        tuple(notes),
    )
