"""Whether a job fits a card: the one fit test and the one search for the largest batch or
context that fits, which ``plan``, ``recommend`` and the advice all use.

A card fits when the job's ``required_bytes`` (peak + CUDA context + allocator overhead) is at
most what PyTorch can use on it less what the user reserves, and the card can run the workload
at all (:func:`problems`).
"""

from __future__ import annotations

import functools
from collections.abc import Callable

from gpuwise.catalog import Card, usable_memory
from gpuwise.errors import GpuwiseError
from gpuwise.i18n import Message
from gpuwise.memory.rank import RankMemory, per_rank_memory, unsupported
from gpuwise.models.spec import ModelSpec
from gpuwise.parallel import Parallel
from gpuwise.workload import Workload

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Literal

#: One card, no sharding, no accumulation.
SINGLE = Parallel()

#: What a workload needs a card to support: (feature id, when it applies, why: a message key).
REQUIREMENTS: tuple[tuple[str, Callable[[Workload], bool], str], ...] = (
    (
        "bnb_4bit",
        lambda w: w.method == "qlora" or (w.task == "infer" and w.stored_weight_dtype == "nf4"),
        "plan.problem.bnb_4bit",
    ),
    (
        "bnb_8bit_optimizers",
        lambda w: w.task == "train" and w.optimizer in ("adamw-8bit", "paged-adamw-8bit"),
        "plan.problem.bnb_8bit_optimizers",
    ),
    (
        "bnb_int8_matmul",
        lambda w: w.task == "infer" and w.stored_weight_dtype == "int8",
        "plan.problem.bnb_int8_matmul",
    ),
    (
        "fp8",
        lambda w: w.task == "infer" and "fp8" in (w.stored_weight_dtype, w.cache_dtype),
        "plan.problem.fp8",
    ),
    # --packing: attention through FlashAttention 2's variable-length kernel
    ("flash_attention_2", lambda w: w.packing, "tricks.problem.packing"),
)


def problems(w: Workload, card: Card) -> list[Message]:
    """Why ``card`` cannot run ``w`` at all, whatever its memory (empty when it can)."""
    return [
        Message(why)
        for feature, applies, why in REQUIREMENTS
        if applies(w) and not card.has(feature)
    ]


def require_precision(w: Workload) -> None:
    """Refuse a workload whose precision each card is to choose (``precision_given=False``):
    its memory and time exist only card by card (:func:`gpuwise.plan.precision.for_card`)."""
    if not w.precision_given:
        raise GpuwiseError(Message("plan.precision_not_given"))


@functools.lru_cache(maxsize=4096)
def rank_memory(spec: ModelSpec, w: Workload, p: Parallel = SINGLE) -> RankMemory | None:
    """One card's memory under ``p`` (the whole step for one card), or None when ``p`` cannot
    run ``w``. Cached: the searches ask for the same workloads card after card. Callers share
    the result: read it, never change it."""
    require_precision(w)
    if unsupported(w, p) is not None:
        return None
    return per_rank_memory(spec, w, p)


def estimate_memory(spec: ModelSpec, w: Workload, p: Parallel = SINGLE) -> RankMemory:
    """Peak memory of one card running ``w`` (one rank of ``p``): the estimate, the host RAM
    offload needs and what the strategy assumed; a one-line GpuwiseError when ``p`` cannot run
    ``w``."""
    require_precision(w)
    why = unsupported(w, p)
    if why is not None:
        raise GpuwiseError(why)
    m = rank_memory(spec, w, p)
    assert m is not None  # supported, so estimated
    return m


def usable_bytes(card: Card, reserve: int = 0) -> int:
    """What PyTorch can use on ``card`` less ``reserve`` bytes the user keeps for other uses."""
    return usable_memory(card).bytes - reserve


def fits_in(spec: ModelSpec, w: Workload, p: Parallel, usable: int) -> bool:
    """Whether ``w`` under ``p`` needs at most ``usable`` bytes per card (False when ``p``
    cannot run it)."""
    m = rank_memory(spec, w, p)
    return m is not None and m.required_bytes <= usable


def fits_on(
    spec: ModelSpec, w: Workload, card: Card, reserve: int = 0, p: Parallel = SINGLE
) -> bool:
    """Whether ``w`` fits ``card`` with ``reserve`` bytes kept free (memory only)."""
    return fits_in(spec, w, p, usable_bytes(card, reserve))


def largest_where(ok: Callable[[int], bool], lo: int, hi: int) -> int | None:
    """The largest ``n`` in ``[lo, hi]`` with ``ok(n)``, for ``ok`` true up to some point and
    false after it; None when ``ok(lo)`` is false. Gallops up from ``lo`` then bisects, so a
    small answer costs few calls however large ``hi`` is."""
    if hi < lo or not ok(lo):
        return None
    good, step = lo, 1
    while good + step <= hi and ok(good + step):
        good += step
        step *= 2
    bad = min(good + step, hi + 1)
    while bad - good > 1:
        mid = (good + bad) // 2
        if ok(mid):
            good = mid
        else:
            bad = mid
    return good


def largest_fitting(
    spec: ModelSpec,
    w: Workload,
    card: Card,
    reserve: int,
    what: Literal["batch", "seq"],
    limit: int,
    p: Parallel = SINGLE,
) -> int | None:
    """The largest ``batch`` or ``seq`` (``what``) of ``w`` that fits ``card``, up to
    ``limit``; None when even 1 does not or the card cannot run ``w``."""
    if problems(w, card):
        return None
    usable = usable_bytes(card, reserve)
    return largest_where(lambda n: fits_in(spec, w.with_(**{what: n}), p, usable), 1, limit)
