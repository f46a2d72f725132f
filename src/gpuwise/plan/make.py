"""A plan: the memory of the reference step (docs/reference-step.md), and per card whether it
fits, the largest batch and context that fit, how long it takes, and what to change when the
one card asked for is too small.

``make_plan`` is the one place a plan's numbers are computed; the command line, ``--json`` and
any other face render a :class:`Plan` and never compute their own.
"""

from __future__ import annotations

from gpuwise.catalog import Card, Catalog, usable_memory
from gpuwise.memory.rank import RankMemory
from gpuwise.models.spec import ModelSpec
from gpuwise.parallel import Parallel
from gpuwise.plan.defaults import defaults
from gpuwise.plan.fit import SINGLE, estimate_memory, largest_fitting, problems
from gpuwise.plan.time import CardTime, card_time
from gpuwise.record import field, record
from gpuwise.workload import Workload

TYPE_CHECKING = False
if TYPE_CHECKING:
    from gpuwise.plan.advice import Advice

#: Largest batch the search tries.
BATCH_LIMIT = 1 << 16


@record(frozen=False)
class CardPlan:
    """One card's verdict: fits or not, by how much, and the time model's figures."""

    card: Card
    usable_bytes: int
    usable_measured: bool
    fits: bool
    headroom_bytes: int
    time: CardTime
    max_batch: int | None = None
    max_seq: int | None = None
    problems: list[str] = field(default_factory=list)


@record(frozen=False)
class Plan:
    """The job (``spec``, ``workload``, ``parallel``), its memory per card, one verdict per
    card, and the advice when the one card asked for is too small."""

    spec: ModelSpec
    workload: Workload
    memory: RankMemory
    cards: list[CardPlan]
    tokens: int | None
    reserve_bytes: int
    parallel: Parallel = SINGLE
    advice: Advice | None = None

    @property
    def host_bytes(self) -> int:
        """Host RAM offload needs, all cards together (0 without offload)."""
        return self.memory.host_bytes


def plan_cards(catalog: Catalog, names: list[str]) -> list[Card]:
    """The cards ``names`` name; the default set (one per memory size, 12 to 80 GB) when none."""
    return [catalog.find(n) for n in (names or defaults()["cards"])]


def _seq_limit(spec: ModelSpec, w: Workload) -> int:
    """Longest context the search tries: the model's, or 4x the asked one past it."""
    limit = spec.max_position_embeddings or w.seq
    if w.allow_long_context:
        limit = max(limit, w.seq) * 4
    return limit


def make_plan(
    spec: ModelSpec,
    w: Workload,
    cards: list[Card],
    tokens: int | None = None,
    reserve_bytes: int = 0,
    search: bool = True,
    parallel: Parallel = SINGLE,
    advise: bool = True,
) -> Plan:
    """The plan of ``w`` on each of ``cards`` (one rank of ``parallel`` each); ``search``: the
    largest batch and context that fit; ``advise``: what to change when the one card asked for
    is too small (:func:`gpuwise.plan.advice.plan_advice`)."""
    memory = estimate_memory(spec, w, parallel)
    out = []
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
            time=card_time(spec, w, card, parallel, memory, tokens),
            problems=cannot,
        )
        if search:
            plan.max_batch = largest_fitting(
                spec, w, card, reserve_bytes, "batch", BATCH_LIMIT, parallel
            )
            plan.max_seq = largest_fitting(
                spec, w, card, reserve_bytes, "seq", _seq_limit(spec, w), parallel
            )
        out.append(plan)
    result = Plan(spec, w, memory, out, tokens, reserve_bytes, parallel)
    if advise and _wants_advice(result):
        from gpuwise.plan.advice import plan_advice

        result.advice = plan_advice(result)
    return result


def _wants_advice(plan: Plan) -> bool:
    """Whether the plan shows advice: one card asked for, on its own (no strategy over
    several), which the job does not fit for its memory (a card that cannot run the workload
    at all gets none)."""
    if len(plan.cards) != 1 or plan.parallel.strategy != "single":
        return False
    card = plan.cards[0]
    return not card.fits and not card.problems
