"""One card's memory: the whole step on one card, or one rank of several (the strategies
themselves are in :mod:`gpuwise.memory.parallel`, loaded only for a multi-card plan).

:func:`per_rank_memory` is the memory model's one entry; :func:`unsupported` says, before
anything is computed, why a strategy cannot run a workload.
"""

from __future__ import annotations

from gpuwise.i18n import Message
from gpuwise.memory.estimate import MemoryEstimate
from gpuwise.memory.train import TrainPhases, train_phases
from gpuwise.models.spec import ModelSpec
from gpuwise.parallel import Parallel
from gpuwise.record import field, record
from gpuwise.workload import Workload

TYPE_CHECKING = False
if TYPE_CHECKING:
    from gpuwise.i18n import Text

#: Optimizers DeepSpeed's ZeRO runs (offload needs its CPU Adam).
ZERO_OPTIMIZERS = ("adamw", "adamw-fused", "sgd")


@record(frozen=False)
class RankMemory:
    """One rank's memory (``estimate``), the host RAM the machine needs for offloaded state
    (``host_bytes``, all ranks together) and what the strategy assumed (``notes``)."""

    estimate: MemoryEstimate
    host_bytes: int
    parallel: Parallel
    notes: list[Text] = field(default_factory=list)

    @property
    def peak_allocated_bytes(self) -> int:
        return self.estimate.peak_allocated_bytes

    @property
    def breakdown(self) -> dict[str, int]:
        return self.estimate.breakdown

    @property
    def required_bytes(self) -> int:
        return self.estimate.required_bytes

    @property
    def peak_phase(self) -> str:
        return self.estimate.peak_phase


class Unsupported(Exception):
    """A strategy was asked to run a workload it cannot (see :func:`unsupported`). Internal:
    callers that take the user's word for the strategy turn the reason into a GpuwiseError;
    callers that search strategies ask :func:`unsupported` first."""


def unsupported(w: Workload, p: Parallel) -> Message | None:
    """Why strategy ``p`` cannot run ``w`` (one line for the user), or None when it can."""
    if w.task != "train":
        if p.grad_accum > 1:
            return Message("memory.accum_for_train")
        if p.strategy != "single":
            return Message("memory.strategy_for_train")
        return None
    if p.engine == "deepspeed" and w.optimizer not in ZERO_OPTIMIZERS:
        usable = ("adamw", "adamw-fused") if p.offloads("optimizer") else ZERO_OPTIMIZERS
        return Message(
            "memory.deepspeed_optimizer",
            strategy=p.strategy,
            optimizer=w.optimizer,
            usable=", ".join(usable),
        )
    if p.engine == "deepspeed" and p.offloads("optimizer") and w.optimizer == "sgd":
        return Message("memory.cpu_adam_only", strategy=p.strategy, optimizer=w.optimizer)
    if p.offloads("optimizer") and w.optimizer in ("adamw-8bit", "paged-adamw-8bit"):
        return Message("memory.offload_8bit", strategy=p.strategy)
    if w.method == "qlora" and p.offloads("weights"):
        return Message("memory.qlora_offload", strategy=p.strategy)
    if p.engine == "deepspeed" and w.method == "qlora":
        return Message("memory.qlora_zero")
    return None


def per_rank_memory(spec: ModelSpec, w: Workload, p: Parallel) -> RankMemory:
    """The peak live bytes of rank 0 of ``p`` running ``w`` (``w.batch`` per card); raises
    :class:`Unsupported` when ``p`` cannot run ``w``."""
    why = unsupported(w, p)
    if why is not None:
        raise Unsupported(why)
    if p.strategy == "single":
        t = train_phases(spec, w) if w.task == "train" else None
        if t is None:
            from gpuwise.memory.infer import infer_memory

            return RankMemory(infer_memory(spec, w), 0, p)
        if p.grad_accum > 1:
            notes: list[Text] = [ACCUM_NOTE]
            return RankMemory(estimate_from(accumulating(t), t, notes), 0, p, notes)
        return RankMemory(MemoryEstimate.at_peak(t.phases, t.terms_from, t.notes), 0, p)
    from gpuwise.memory import parallel  # the multi-card strategies, only when asked for

    if p.strategy == "ddp":
        return parallel.ddp(spec, w, p)
    if p.engine == "deepspeed":
        return parallel.zero(spec, w, p)
    return parallel.fsdp(spec, w, p)


ACCUM_NOTE = Message("memory.note.accum")


def accumulating(t: TrainPhases) -> dict[str, dict[str, int]]:
    """The phases when micro-batches accumulate: every gradient exists from the second
    micro-batch's forward on."""
    out = {}
    for name, parts in t.phases.items():
        new = dict(parts)
        if name in ("forward", "backward", "backward_layers"):
            new["gradients"] = max(parts.get("gradients", 0), t.state.grads)
        out[name] = new
    return out


def estimate_from(
    phases: dict[str, dict[str, int]], t: TrainPhases, notes: list[Text]
) -> MemoryEstimate:
    return MemoryEstimate.at_peak(phases, t.terms_from, list(t.notes) + notes)
