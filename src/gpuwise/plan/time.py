"""How long a job takes on a card: the one time function for training and inference, on one
card or as one of several (``plan``, ``recommend`` and the advice all call it)."""

from __future__ import annotations

from gpuwise.catalog import Card
from gpuwise.memory.rank import RankMemory
from gpuwise.models.spec import ModelSpec
from gpuwise.parallel import Parallel
from gpuwise.plan.fit import SINGLE, estimate_memory, require_precision
from gpuwise.timing.estimate import InferTime, TrainTime, infer_time, train_time
from gpuwise.workload import Workload

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import TypeAlias

    from gpuwise.timing.parallel import ParallelTime

#: The time of a job on a card: training on one card, training as one of several (or with
#: accumulation), or inference. Each has ``tokens_per_s``, ``step_s``, ``run_s``,
#: ``energy_kwh`` and ``notes``.
CardTime: TypeAlias = "TrainTime | ParallelTime | InferTime"


def card_time(
    spec: ModelSpec,
    w: Workload,
    card: Card,
    p: Parallel = SINGLE,
    memory: RankMemory | None = None,
    tokens: int | None = None,
    single: TrainTime | None = None,
) -> CardTime:
    """Time of ``w`` on ``card`` (one rank of ``p``); ``tokens`` to train or generate gives
    the time and energy of the whole run. Inference reads the stored weights and the KV cache
    from ``memory`` (the plan's; estimated here when not given). ``single``: training's time of
    one micro-batch on this card without ``tokens`` (``train_time(spec, w, card)``), when a
    search over strategies on the same card has it already."""
    require_precision(w)
    if w.task == "infer":
        m = memory if memory is not None else estimate_memory(spec, w, p)
        b = m.breakdown
        return infer_time(
            spec, w, card, weights_bytes=b["weights"], kv_bytes=b["kv_cache"], tokens=tokens
        )
    if _several(p):  # the collectives' model, only for several cards or accumulation
        from gpuwise.timing.parallel import parallel_train_time

        return parallel_train_time(spec, w, card, p, tokens, single)
    return train_time(spec, w, card, tokens=tokens)


def card_speed(
    spec: ModelSpec,
    w: Workload,
    card: Card,
    p: Parallel,
    memory: RankMemory,
    single: TrainTime | None = None,
) -> float | None:
    """Tokens per second of ``w`` on ``card`` (one rank of ``p``), as :func:`card_time` has it,
    without the rest of its account: what a search over strategies ranks them by."""
    if w.task == "train" and _several(p):
        from gpuwise.timing.parallel import parallel_tokens_per_s

        return parallel_tokens_per_s(spec, w, card, p, single)
    if w.task == "train" and single is not None:
        return single.tokens_per_s
    return card_time(spec, w, card, p, memory).tokens_per_s


def _several(p: Parallel) -> bool:
    """Whether ``p`` is more than one card stepping once per micro-batch."""
    return p.gpus > 1 or p.grad_accum > 1 or p.strategy != "single"
