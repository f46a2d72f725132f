"""A plan: the memory of the reference step, and per card whether it fits and how long it takes.

``make_plan`` is the one place numbers are computed; the CLI, ``--json`` and the web page render
a :class:`Plan` and never compute their own.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass, field
from typing import Any

from gpuwise.catalog import Card, usable_memory
from gpuwise.memory.estimate import MemoryEstimate
from gpuwise.models.spec import ModelSpec
from gpuwise.packaged import packaged_json
from gpuwise.parallel import Parallel
from gpuwise.workload import Workload

SINGLE = Parallel()


@functools.lru_cache(maxsize=1)
def defaults() -> dict[str, Any]:
    data: dict[str, Any] = packaged_json("gpuwise.plan", "data/defaults.json")
    return data


def estimate_memory(spec: ModelSpec, w: Workload, p: Parallel = SINGLE) -> MemoryEstimate:
    """Peak memory of one card: the whole step on one card, or one rank of ``p``."""
    if p != SINGLE:  # several cards, or accumulation
        from gpuwise.memory.parallel import per_rank_memory

        return per_rank_memory(spec, w, p).estimate
    if w.task == "infer":
        from gpuwise.memory.infer import infer_memory

        return infer_memory(spec, w)
    from gpuwise.memory.train import train_memory

    return train_memory(spec, w)


@dataclass
class CardPlan:
    """One card's verdict: fits or not, by how much, and the time model's figures."""

    card: Card
    usable_bytes: int
    usable_measured: bool
    fits: bool
    headroom_bytes: int
    time: dict[str, Any]
    max_batch: int | None = None
    max_seq: int | None = None
    problems: list[str] = field(default_factory=list)


@dataclass
class Plan:
    spec: ModelSpec
    workload: Workload
    memory: MemoryEstimate
    cards: list[CardPlan]
    tokens: int | None
    reserve_bytes: int
    parallel: Parallel = SINGLE
    host_bytes: int = 0  # host RAM offload needs, all cards together


#: What a workload needs a card to support: (feature id, when it applies, why).
REQUIREMENTS = (
    (
        "bnb_4bit",
        lambda w: w.method == "qlora" or (w.task == "infer" and w.stored_weight_dtype == "nf4"),
        "bitsandbytes 4-bit (NF4) needs compute capability 6.0+",
    ),
    (
        "bnb_8bit_optimizers",
        lambda w: w.task == "train" and w.optimizer == "adamw-8bit",
        "bitsandbytes 8-bit optimizers need compute capability 6.0+",
    ),
    (
        "bnb_int8_matmul",
        lambda w: w.task == "infer" and w.stored_weight_dtype == "int8",
        "bitsandbytes LLM.int8() needs compute capability 7.5+",
    ),
    (
        "fp8",
        lambda w: w.task == "infer" and "fp8" in (w.stored_weight_dtype, w.cache_dtype),
        "fp8 needs compute capability 8.9+ (Ada, Hopper, Blackwell)",
    ),
)


def problems(w: Workload, card: Card) -> list[str]:
    """Why ``card`` cannot run ``w`` at all, whatever its memory (empty when it can)."""
    return [why for feature, applies, why in REQUIREMENTS if applies(w) and not card.has(feature)]


def card_time(
    spec: ModelSpec,
    w: Workload,
    card: Card,
    memory: MemoryEstimate,
    tokens: int | None,
    p: Parallel = SINGLE,
) -> dict[str, Any]:
    from gpuwise.timing.estimate import infer_time, train_time

    if p != SINGLE and w.task == "train":
        from gpuwise.timing.parallel import parallel_train_time

        return parallel_train_time(spec, w, card, p, tokens).to_dict()

    if w.task == "infer":
        stored = memory.breakdown["weights"]
        t = infer_time(
            spec,
            w,
            card,
            weights_bytes=stored,
            kv_bytes=memory.breakdown["kv_cache"],
            tokens=tokens,
        )
        return t.to_dict()
    return train_time(spec, w, card, tokens=tokens).to_dict()


def fits_on(spec: ModelSpec, w: Workload, card: Card, reserve: int, p: Parallel = SINGLE) -> bool:
    return _required(spec, w, p) <= usable_memory(card).bytes - reserve


@functools.lru_cache(maxsize=4096)
def _required(spec: ModelSpec, w: Workload, p: Parallel = SINGLE) -> int:
    """``required_bytes`` of a workload: the searches ask for the same ones card after card."""
    return estimate_memory(spec, w, p).required_bytes


def largest(
    spec: ModelSpec,
    w: Workload,
    card: Card,
    reserve: int,
    what: str,
    limit: int,
    p: Parallel = SINGLE,
) -> int | None:
    """The largest ``batch`` or ``seq`` (``what``) that fits, up to ``limit``; None if 1 can't."""

    def ok(n: int) -> bool:
        return fits_on(spec, w.with_(**{what: n}), card, reserve, p)

    if problems(w, card) or not ok(1):
        return None
    lo, hi = 1, 2
    while hi <= limit and ok(hi):
        lo, hi = hi, hi * 2
    hi = min(hi, limit + 1)
    while hi - lo > 1:
        mid = (lo + hi) // 2
        if ok(mid):
            lo = mid
        else:
            hi = mid
    return lo


def make_plan(
    spec: ModelSpec,
    w: Workload,
    cards: list[Card],
    tokens: int | None = None,
    reserve_bytes: int = 0,
    search: bool = True,
    parallel: Parallel = SINGLE,
) -> Plan:
    host = 0
    if parallel != SINGLE:
        from gpuwise.memory.parallel import per_rank_memory

        ranked = per_rank_memory(spec, w, parallel)
        memory, host = ranked.estimate, ranked.host_bytes
    else:
        memory = estimate_memory(spec, w)
    out = []
    seq_limit = spec.max_position_embeddings or w.seq
    if w.allow_long_context:
        seq_limit = max(seq_limit, w.seq) * 4
    for card in cards:
        usable = usable_memory(card)
        headroom = usable.bytes - reserve_bytes - memory.required_bytes
        cannot = problems(w, card)
        plan = CardPlan(
            card=card,
            usable_bytes=usable.bytes,
            usable_measured=usable.measured,
            fits=headroom >= 0 and not cannot,
            headroom_bytes=headroom,
            time=card_time(spec, w, card, memory, tokens, parallel),
            problems=cannot,
        )
        if search:
            plan.max_batch = largest(spec, w, card, reserve_bytes, "batch", 1 << 16, parallel)
            plan.max_seq = largest(spec, w, card, reserve_bytes, "seq", seq_limit, parallel)
        out.append(plan)
    return Plan(spec, w, memory, out, tokens, reserve_bytes, parallel, host)
