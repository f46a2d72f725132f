"""Rank the ways to run a job: which card, how many, which strategy, at what cost.

For every card (after the user's filters) and every count from 1 to ``max_gpus`` (one card for
inference: serving across cards is not modelled), each strategy that can run the job is tried
(:data:`STRATEGY_ORDER`), in the card's precision (its own when the user gives none:
:mod:`gpuwise.plan.precision`); the per-rank memory depends on the card only through that
precision, so it is computed once per (precision, strategy, count). The card's option is its
fastest fitting strategy; when none fits, the option is rejected with what overflows and by how
much (for the strategy that needs the least memory). Fitting options then meet the constraints
(budget, deadline, power), and what does not gets a reason too. Ranking follows the objective.

A search over thousands of cards stays fast: a strategy's speed is shared by cards whose
micro-batch takes as long and whose links are the same, and an option's whole time account
(notes, energy, communication) is worked out only when asked for, for the options shown.
"""

from __future__ import annotations

import functools
import math

from gpuwise.catalog import Card, usable_memory
from gpuwise.errors import GpuwiseError
from gpuwise.i18n import Message, render
from gpuwise.memory.rank import RankMemory
from gpuwise.models.spec import ModelSpec
from gpuwise.parallel import Parallel, parallel_problem
from gpuwise.plan.advice import Advice, advise
from gpuwise.plan.defaults import default_host_ram_gib
from gpuwise.plan.fit import problems, rank_memory, usable_bytes
from gpuwise.plan.precision import CardPrecision, for_card
from gpuwise.plan.time import CardTime, card_speed, card_time
from gpuwise.recommend import OBJECTIVES, currency_word
from gpuwise.recommend.prices import Price, PriceBook, Quote
from gpuwise.record import field, record
from gpuwise.timing.calibration import listed_once
from gpuwise.timing.estimate import TrainTime, run_seconds, train_time
from gpuwise.timing.parallel import link_key
from gpuwise.units import GIB
from gpuwise.workload import Workload

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Callable, Sequence
    from typing import Any

    from gpuwise.i18n import Text

#: Strategies tried, simplest first (a tie in speed keeps the simpler one).
STRATEGY_ORDER = (
    "single",
    "ddp",
    "fsdp",
    "fsdp-hybrid",
    "zero1",
    "zero2",
    "zero3",
    "zero2-offload",
    "fsdp-offload",
    "zero3-offload",
)


@record
class Constraints:
    """What the user allows: money, cards, power, time."""

    budget: float | None = None
    currency: str = "usd"
    max_gpus: int = 8
    max_power_w: float | None = None
    deadline_s: float | None = None
    reserve_bytes: int = 0
    offload: bool = True  # consider strategies that offload to host RAM
    host_ram_bytes: int = field(default_factory=lambda: default_host_ram_gib() * GIB)
    # what offload may use, all cards together


@record(frozen=False)
class Option:
    """One way to run the job: ``count`` x ``card`` with ``parallel``, and how it goes."""

    card: Card
    count: int
    parallel: Parallel | None
    fits: bool
    memory: RankMemory | None
    usable_bytes: int
    tokens_per_s: float | None
    run_s: float | None  # with --tokens: how long the run takes
    cost: float | None
    pricing: str | None  # "buy", "rent" or None (no price)
    price_source: Text | None
    power_w: float
    reason: Text | None = None
    notes: list[Text] = field(default_factory=list)
    timer: Callable[[], CardTime] | None = field(default=None, compare=False)
    #: the price the cost is made of, the hourly rental when there is one, what renting
    #: the cards for the run costs (with --tokens) and after how many hours of use
    #: buying them costs less than renting them (when both prices exist)
    price: Quote | None = None
    rental: Quote | None = None
    rent_cost: float | None = None
    break_even_hours: float | None = None
    #: the precision the card is planned in (its own when the user gives none), and the job
    #: as the card runs it
    precision: CardPrecision | None = None
    workload: Workload | None = None
    #: what finishing the job costs (with --tokens; rented for its hours, or the bought cards'
    #: share of their price for them, data/cost_to_finish.json), and a million tokens' share
    #: of that, by which the default objective ranks with or without --tokens
    finish_cost: float | None = None
    cost_per_mtok: float | None = None
    #: what the option changes in the job as asked ("grad_checkpointing": it fits, or fits
    #: without offload, only with it)
    changes: list[str] = field(default_factory=list)

    @property
    def time(self) -> CardTime | None:
        """The whole account of the option's time, as ``plan`` gives it (``timer``'s; worked
        out when first asked: a search over thousands of cards ranks by ``tokens_per_s`` and
        ``run_s`` alone, and only the options shown are accounted)."""
        if self.timer is None:
            return None
        found: CardTime | None = self.__dict__.get("_time")
        if found is None:
            found = self.__dict__["_time"] = self.timer()
        return found

    @property
    def headroom_bytes(self) -> int | None:
        if self.memory is None:
            return None
        return self.usable_bytes - self.memory.required_bytes

    @property
    def tokens_per_cost(self) -> float | None:
        """Tokens per unit of money. With ``--tokens``: the tokens trained (or generated) per
        unit the run costs, rented or bought (a bought card's cost is its price). Without: the
        rate per unit of the cards' price (only bought options are costed then)."""
        if not self.cost or self.tokens_per_s is None:
            return None
        if self.run_s:
            return self.tokens_per_s * self.run_s / self.cost
        return self.tokens_per_s / self.cost


@record(frozen=False)
class Recommendation:
    """Every option, ranked (usable first), and the advice when none is usable or the user
    named the card they have."""

    spec: ModelSpec
    workload: Workload
    constraints: Constraints
    objective: str
    tokens: int | None
    options: list[Option]
    prices: PriceBook
    cards_considered: int
    advice: Advice | None = None

    @property
    def usable(self) -> list[Option]:
        """The options that fit and meet every constraint, best first."""
        return [o for o in self.options if o.fits and o.reason is None]

    def best_to_launch(self) -> Launchable:
        """The best usable option, to write launch files for; a one-line GpuwiseError when no
        option is usable."""
        for o in self.usable:
            if o.parallel is not None and o.memory is not None and o.workload is not None:
                return Launchable(o.parallel, o.memory.host_bytes or None, o.workload)
        raise GpuwiseError(Message("recommend.emit_nothing_fits"))


@record
class Launchable:
    """What the launch files of an option need: its strategy, the host RAM offload takes and
    the job in the option's precision."""

    parallel: Parallel
    host_bytes: int | None
    workload: Workload


def candidates(count: int, grad_accum: int, offload: bool, task: str = "train") -> list[Parallel]:
    """The strategies worth trying on ``count`` cards (hybrid shard: every group size).
    Inference runs on one card (serving across cards, tensor parallel, is not modelled)."""
    if task == "infer":
        return [Parallel()] if count == 1 else []
    out = []
    for s in STRATEGY_ORDER:
        if not offload and "offload" in s:
            continue
        sizes: list[int | None] = [None]
        if s == "fsdp-hybrid":
            sizes = [k for k in range(2, count) if count % k == 0]
        for shard in sizes:
            p = Parallel(s, count, shard, grad_accum)
            if parallel_problem(p) is None:
                out.append(p)
    return out


@functools.lru_cache(maxsize=64)
def _strategies(
    spec: ModelSpec, w: Workload, count: int, grad_accum: int, offload: bool
) -> tuple[tuple[Parallel, RankMemory, int, int], ...]:
    """Every strategy on ``count`` cards that can run the job, simplest first, with its
    per-card memory (which does not depend on the card): ``(strategy, memory, required bytes
    per card, host bytes)``, the two sizes at hand for the search over cards."""
    out = []
    for p in candidates(count, grad_accum, offload, w.task):
        m = rank_memory(spec, w, p)
        if m is not None:
            out.append((p, m, m.required_bytes, m.host_bytes))
    return tuple(out)


def _need(t: tuple[Parallel, RankMemory, int, int]) -> int:
    return t[2]


def _price(
    card: Card, count: int, book: PriceBook, run_s: float | None
) -> tuple[float | None, str | None, Text | None, Text | None]:
    """(cost, pricing, source, why unknown)."""
    price = book.price(card)
    if price is None:
        return None, None, None, Message("recommend.reason.no_price", card=card.name)
    if price.buy is not None:
        return price.buy * count, "buy", price.source, None
    assert price.hourly is not None
    if run_s is None:
        hourly = Message(
            "recommend.reason.hourly",
            card=card.name,
            hourly=f"{price.hourly:g}",
            currency=currency_word(book.currency),
        )
        return None, "rent", price.source, hourly
    return price.hourly * count * run_s / 3600, "rent", price.source, None


class _Search:
    """One search over cards: the job, the user's limits, and what is the same for every card
    in one precision (:class:`_Job`, made when a card first needs it), and the speeds of
    strategies on cards alike (:meth:`_CardFacts.speeds`)."""

    def __init__(
        self,
        spec: ModelSpec,
        w: Workload,
        constraints: Constraints,
        book: PriceBook,
        tokens: int | None,
        grad_accum: int,
    ) -> None:
        self.spec, self.w, self.constraints, self.book = spec, w, constraints, book
        self.tokens, self.grad_accum = tokens, grad_accum
        self.jobs: dict[Workload, _Job] = {}
        self.speeds: dict[tuple[Any, ...], list[float | None]] = {}

    def job(self, w: Workload) -> _Job:
        """What every card planned in ``w`` (the job in one precision) shares."""
        found = self.jobs.get(w)
        if found is None:
            found = self.jobs[w] = _Job(self, w)
        return found

    def options(self, card: Card) -> list[Option]:
        """The best way to run the job on each count of ``card``, or why there is none. A
        training job asked for without gradient checkpointing that fits a count of the card
        only by offloading to host RAM, or not at all, is tried with checkpointing too, which
        saves memory on the card first: the faster of the two is the option (marked with the
        change, ``changes``)."""
        facts = _CardFacts(self, card)
        out = []
        ckpt: _CardFacts | None = None
        try_ckpt = self.try_ckpt and not facts.cannot
        for n in facts.job.counts:
            if try_ckpt and not _may_help(facts, n, False):
                # the job as asked fits no strategy on n cards (its reason would go unsaid
                # when checkpointing makes it fit)
                ckpt = ckpt or facts.with_checkpointing()
                if _may_help(ckpt, n, False):
                    c = _evaluate(self, ckpt, n, simplest=True)
                    if c.fits:
                        c.changes = ["grad_checkpointing"]
                        out.append(c)
                        continue
            o = _evaluate(self, facts, n)
            if try_ckpt and _needs_host(o):
                ckpt = ckpt or facts.with_checkpointing()
                if not _may_help(ckpt, n, o.fits):
                    out.append(o)
                    continue
                # the simplest strategy that fits with it (timing every one, on every card
                # and count, would double the search)
                c = _evaluate(self, ckpt, n, on_card_only=o.fits, simplest=True)
                if c.fits and (not o.fits or (c.tokens_per_s or 0.0) > (o.tokens_per_s or 0.0)):
                    c.changes = ["grad_checkpointing"]
                    o = c
            out.append(o)
        return out

    @property
    def try_ckpt(self) -> bool:
        """Whether options may add gradient checkpointing (training, not asked for)."""
        return self.w.task == "train" and not self.w.grad_checkpointing


def _may_help(facts: _CardFacts, count: int, fits: bool) -> bool:
    """Whether the job as ``facts`` runs it (as asked, or with checkpointing) fits ``count``
    cards at all (``fits`` False) or without offload (``fits`` True: the job as asked fits
    only with offload): a check of memory alone, before any time is worked out (a search over
    thousands of cards would otherwise time every card twice)."""
    at = facts.job.at(count)
    return facts.usable >= (at.least_on_card if fits else at.least_fitting)


def _needs_host(o: Option) -> bool:
    """Whether ``o`` does not fit, or fits only by offloading to host RAM."""
    return not o.fits or (o.parallel is not None and o.parallel.offloads("optimizer"))


class _Job:
    """The job in one precision: for each count of cards, the strategies it can use
    (:class:`_Count`, made when a card first asks for that count)."""

    def __init__(self, search: _Search, w: Workload) -> None:
        self.w, self.search = w, search
        self.counts = range(1, 2 if w.task == "infer" else search.constraints.max_gpus + 1)
        self._at: dict[int, _Count] = {}
        self._checkpointed: _Job | None = None

    def at(self, count: int) -> _Count:
        """The strategies ``count`` cards can use."""
        found = self._at.get(count)
        if found is None:
            search, constraints = self.search, self.search.constraints
            tried = _strategies(search.spec, self.w, count, search.grad_accum, constraints.offload)
            found = self._at[count] = _Count(tried, constraints.host_ram_bytes)
        return found

    def checkpointed(self) -> _Job:
        """The job with gradient checkpointing added (made once, for every card that tries
        it)."""
        if self._checkpointed is None:
            self._checkpointed = self.search.job(self.w.with_(grad_checkpointing=True))
        return self._checkpointed


class _Count:
    """The strategies one count of cards can use for the job, with their memory per card (the
    same on every card), and the figures a card's memory is held against."""

    def __init__(self, tried: tuple[tuple[Parallel, RankMemory, int, int], ...], host_ram: int):
        self.tried = tried
        allowed = [t for t in tried if t[3] <= host_ram]
        # the strategy needing the least memory per card among those the host RAM allows
        # (among all, if none does), what a card that fits none is told about; the least any
        # needs
        self.least = min(allowed or tried, key=_need) if tried else None
        self.floor = min((t[2] for t in tried), default=math.inf)
        # the least memory per card of a strategy the host RAM allows, and of one that
        # offloads nothing (a card with less fits none): what :func:`_may_help` asks
        self.least_fitting = min((t[2] for t in allowed), default=math.inf)
        self.least_on_card = min(
            (t[2] for t in allowed if not t[0].offloads("optimizer")), default=math.inf
        )


class _CardFacts:
    """What the search needs of one card whatever the count: the job as the card runs it (its
    ``precision``), ``usable`` bytes, the reasons it cannot run the job at all, and (made on
    first use, kept) its training time for one micro-batch, which every strategy on every count
    starts from."""

    def __init__(self, search: _Search, card: Card, w: Workload | None = None) -> None:
        self.search, self.card = search, card
        self.w, self.precision = for_card(search.w if w is None else w, card)
        self.job = search.job(self.w)
        self.usable = usable_bytes(card, search.constraints.reserve_bytes)
        self.cannot = problems(self.w, card)
        self._single: TrainTime | None = None
        self._alike: tuple[Any, ...] | None = None

    def with_checkpointing(self) -> _CardFacts:
        """The same card with gradient checkpointing added to the job (its precision, usable
        memory and problems are the job's as asked)."""
        other = object.__new__(_CardFacts)
        other.__dict__.update(self.__dict__)
        other.job = self.job.checkpointed()
        other.w = other.job.w
        other._single, other._alike = None, None
        return other

    def single(self) -> TrainTime | None:
        if self.w.task != "train":
            return None
        if self._single is None:
            self._single = train_time(self.search.spec, self.w, self.card)
        return self._single

    def speeds(self, count: int, which: list[int]) -> list[float]:
        """Tokens per second of the strategies ``which`` (places in ``job.at(count).tried``)
        on the card (0 when its rate is unknown). A training step's speed follows from the
        card's time for one micro-batch, its links and the job's precision alone: cards alike
        in those share it."""
        spec, w, tried = self.search.spec, self.w, self.job.at(count).tried
        single = self.single()
        if single is None:
            return [card_speed(spec, w, self.card, *tried[i][:2]) or 0.0 for i in which]
        if self._alike is None:
            self._alike = (
                w.precision,
                w.grad_checkpointing,
                single.compute_s,
                single.optimizer_s,
                link_key(self.card),
            )
        row = self.search.speeds.setdefault((self._alike, count), [None] * len(tried))
        out = []
        for i in which:
            tps = row[i]
            if tps is None:
                p, m = tried[i][:2]
                tps = row[i] = card_speed(spec, w, self.card, p, m, single) or 0.0
            out.append(tps)
        return out


def _evaluate(
    search: _Search,
    facts: _CardFacts,
    count: int,
    on_card_only: bool = False,
    simplest: bool = False,
) -> Option:
    """The best way to run the job on ``count`` x the card, or why there is none;
    ``on_card_only``: among the strategies that offload nothing; ``simplest``: the first
    strategy that fits (:data:`STRATEGY_ORDER`), not the fastest of all that do."""
    card, usable, cannot, at = facts.card, facts.usable, facts.cannot, facts.job.at(count)
    tried = at.tried
    constraints = search.constraints
    power = card.tdp_w * count
    if cannot or not tried:
        why = joined(cannot) or Message("recommend.reason.no_strategy", count=count)
        return _rejected(facts, count, None, None, power, why)
    host_ram = constraints.host_ram_bytes
    on_card = []
    if usable >= at.floor:  # most cards fit no strategy on few of them
        on_card = [i for i, t in enumerate(tried) if t[2] <= usable]
    fitting = [i for i in on_card if tried[i][3] <= host_ram]
    if on_card_only:
        fitting = [i for i in fitting if not tried[i][0].offloads("optimizer")]
    if simplest and fitting:
        fitting = fitting[:1]  # the least sharding that fits: timed alone
    if on_card and not fitting:
        p, m, _, host = min((tried[i] for i in on_card), key=lambda t: t[3])
        why = InGiB("recommend.reason.host_ram", strategy=p.strategy, host=host, ram=host_ram)
        return _rejected(facts, count, p, m, power, why)
    if not fitting:
        assert at.least is not None  # some strategy was tried
        p, m, need, host = at.least
        short = need - usable
        if len(tried) > 1:
            why = InGiB(
                "recommend.reason.short_even",
                need=need,
                strategy=p.strategy,
                tried=len(tried),
                card=card.name,
                usable=usable,
                short=short,
            )
        else:
            why = InGiB(
                "recommend.reason.short", need=need, card=card.name, usable=usable, short=short
            )
        if host > host_ram:
            why = InGiB("recommend.reason.and_host", reason=why, host=host)
        return _rejected(facts, count, p, m, power, why)
    speeds = facts.speeds(count, fitting)
    # the simplest strategy within 2 % of the fastest (offload does not win a tie)
    fastest = max(speeds)
    best, tps = next(
        (i, tps) for i, tps in zip(fitting, speeds, strict=True) if tps >= 0.98 * fastest
    )
    p, m = tried[best][:2]
    timer = functools.partial(
        card_time, search.spec, facts.w, card, p, m, search.tokens, facts.single()
    )
    if facts.w.task == "train":  # the speed ranked by is the time's: account it when asked
        tokens = search.tokens
        speed = tps or None
        run_s = run_seconds(tokens, tps) if tokens is not None and tps else None
    else:  # a run of inference is more than its decode speed: account it now
        t = timer()
        speed, run_s = t.tokens_per_s, t.run_s
        timer = functools.partial(_given, t)
    cost, pricing, source, unknown = _price(card, count, search.book, run_s)
    option = Option(card, count, p, True, m, usable, speed, run_s, cost, pricing, source, power)
    option.timer, option.precision, option.workload = timer, facts.precision, facts.w
    option.reason = _constraint_reason(option, constraints, search.book, unknown)
    if m.host_bytes:
        option.notes.append(InGiB("recommend.note.host_ram", host=m.host_bytes))
    return option


#: The parameters of a reason that are bytes, said in GiB with this many decimals.
_GIB_DIGITS = {"need": 1, "usable": 1, "short": 1, "host": 0, "ram": 0}


class InGiB(Message):
    """A message whose sizes (:data:`_GIB_DIGITS`) are bytes, said in GiB only when the message
    is: a search over thousands of cards gives far more reasons than it shows, so the figures
    of the others are never formatted."""

    __slots__ = ()

    def render(self, language: str | None = None) -> str:
        params = {
            k: _in_gib(v, _GIB_DIGITS[k]) if k in _GIB_DIGITS else v for k, v in self.params.items()
        }
        return render(self.key, params, language)


def _in_gib(n: int, digits: int) -> str:
    """``n`` bytes in GiB with ``digits`` decimals, more below 10 GiB so that a small amount
    never reads as 0 ("0.3", not "0")."""
    value = n / GIB
    while digits < 2 and 0 < abs(value) < 10 ** (1 - digits):
        digits += 1
    return f"{value:.{digits}f}"


def _rejected(
    facts: _CardFacts,
    count: int,
    p: Parallel | None,
    m: RankMemory | None,
    power: float,
    why: Text,
) -> Option:
    """An option that does not fit, ``why``; ``p`` and ``m``: the strategy it is told about."""
    o = Option(facts.card, count, p, False, m, facts.usable, None, None, None, None, None, power)
    o.reason, o.precision, o.workload = why, facts.precision, facts.w
    return o


def _given(t: CardTime) -> CardTime:
    return t


def _constraint_reason(
    o: Option, c: Constraints, book: PriceBook, unknown_price: Text | None
) -> Text | None:
    if c.max_power_w is not None and o.power_w > c.max_power_w:
        return Message(
            "recommend.reason.power",
            count=o.count,
            tdp=f"{o.card.tdp_w:g}",
            power=f"{o.power_w:g}",
            most=f"{c.max_power_w:g}",
        )
    run_s = o.run_s
    if c.deadline_s is not None:
        if run_s is None:
            return Message("recommend.reason.speed_unknown")
        if run_s > c.deadline_s:
            return Message(
                "recommend.reason.deadline", takes=_days(run_s), deadline=_days(c.deadline_s)
            )
    if c.budget is not None:
        cur = currency_word(book.currency)
        if o.cost is None:
            return unknown_price or Message("recommend.reason.no_currency_price", currency=cur)
        if o.cost > c.budget:
            return Message(
                "recommend.reason.over_budget",
                cost=f"{o.cost:,.0f}",
                budget=f"{c.budget:,.0f}",
                currency=cur,
            )
    return None


def _days(seconds: float) -> Message:
    if seconds < 3600:
        return Message("recommend.minutes", n=f"{seconds / 60:.0f}")
    if seconds < 2 * 86400:
        return Message("recommend.hours", n=f"{seconds / 3600:.1f}")
    return Message("recommend.days", n=f"{seconds / 86400:.1f}")


def joined(reasons: Sequence[Text]) -> Text | None:
    """``reasons`` said as one ("a; b; c"), None when there are none."""
    if not reasons:
        return None
    out = reasons[0]
    for reason in reasons[1:]:
        out = Message("recommend.and", first=out, then=reason)
    return out


#: Costs to finish this close (5 %) rank as one, by price then speed.
_LOG_STEP = math.log(1.05)


def _sort_key(o: Option, objective: str) -> tuple[Any, ...]:
    tps = o.tokens_per_s or 0.0
    if not (o.fits and o.reason is None):  # after every usable option, the priced ones: those
        # that fit (held back by a constraint) by cost, then those that do not by how little
        # memory they lack; then the options no price is known for, in the same order
        unpriced = o.cost is None
        if o.fits:
            return (1, unpriced, 0, float("inf") if unpriced else round(o.cost or 0, 2), -tps)
        return (1, unpriced, 1, -(o.headroom_bytes or -(1 << 60)), -tps)
    cost = round(o.cost, 2) if o.cost is not None else float("inf")  # ties: the faster
    if objective == "fastest":
        return (0, -tps, cost)
    if objective == "tokens-per-dollar":
        value = o.tokens_per_cost or 0.0
        return (0, -value, cost)
    if objective == "cost-to-finish":
        # costs within 5 % of each other are alike (more of the same card costs as much per
        # token): the lower price comes first among them, then the faster; unknown costs (no
        # price) come after every known one
        per = o.cost_per_mtok
        step = math.inf if per is None or per <= 0 else round(math.log(per) / _LOG_STEP)
        return (0, step, cost, -tps)
    return (0, cost, -tps)


def recommend(
    spec: ModelSpec,
    w: Workload,
    cards: list[Card],
    constraints: Constraints,
    book: PriceBook,
    objective: str = OBJECTIVES[0],
    tokens: int | None = None,
    grad_accum: int = 1,
    have: Card | None = None,
) -> Recommendation:
    """Every card x 1..``max_gpus`` of it, ranked by ``objective``; with ``have`` (the user's
    card), or when no option meets the constraints, the advice for one card
    (:func:`advice_target`)."""
    if objective not in OBJECTIVES:
        known = ", ".join(OBJECTIVES)
        raise GpuwiseError(
            Message("recommend.unknown_objective", objective=repr(objective), known=known)
        )
    if constraints.deadline_s is not None and tokens is None:
        raise GpuwiseError(Message("recommend.deadline_needs_tokens"))
    if w.task == "infer" and grad_accum > 1:
        raise GpuwiseError(Message("recommend.grad_accum_infer"))
    search = _Search(spec, w, constraints, book, tokens, grad_accum)
    options: list[Option] = []
    with listed_once():
        for card in cards:
            found = search.options(card)
            price = book.price(card)
            if price is not None:
                for option in found:
                    _costing(option, price)
            options += found
    options.sort(key=lambda o: _sort_key(o, objective))
    rec = Recommendation(spec, w, constraints, objective, tokens, options, book, len(cards))
    target = advice_target(rec, cards, have)
    if target is not None:
        card, why = target
        said: Any = why  # a message, said when shown (advise names it str)
        rec.advice = advise(
            spec,
            w,
            card,
            said,
            constraints.reserve_bytes,
            constraints.host_ram_bytes,
            grad_accum,
            constraints.max_gpus,
            constraints.offload,
        )
    return rec


@functools.lru_cache(maxsize=1)
def service_hours() -> float:
    """Hours of use a bought card's price is spread over (data/cost_to_finish.json)."""
    from gpuwise.packaged import packaged_json

    return float(packaged_json("gpuwise.recommend", "data/cost_to_finish.json")["service_hours"])


def _finish(o: Option, price: Price) -> None:
    """What finishing the job costs on ``o``: its cards' rental by the hour, or a bought
    card's price spread over its :func:`service_hours`, for the hours the job takes (with
    --tokens), and per million tokens (always, for the ranking)."""
    tps = o.tokens_per_s
    if not o.fits or not tps:
        return
    if o.pricing == "buy" and price.buy is not None:
        per_hour = price.buy * o.count / service_hours()
    elif price.hourly is not None:
        per_hour = price.hourly * o.count
    else:
        return
    o.cost_per_mtok = per_hour / (tps * 3600) * 1e6
    if o.run_s is not None:
        o.finish_cost = per_hour * o.run_s / 3600


def _costing(o: Option, price: Price) -> None:
    """The quotes ``o``'s cost is made of (``price``: its card's); a price for an option that
    does not fit (what the cards would cost); what renting them for the run costs, and the
    hours of use after which buying costs less than renting; what finishing the job costs."""
    _finish(o, price)
    buy, hourly = price.buy, price.hourly
    if o.pricing == "rent":
        o.price = price.hourly_quote
    elif buy is not None:
        if o.cost is None and not o.fits:
            o.cost, o.pricing, o.price_source = buy * o.count, "buy", price.source
        o.price = price.buy_quote
    if hourly is None:
        return
    o.rental = price.hourly_quote
    if o.run_s is not None:
        o.rent_cost = hourly * o.count * o.run_s / 3600
    if o.pricing == "buy" and buy is not None:
        o.break_even_hours = buy / hourly


def advice_target(
    rec: Recommendation, cards: list[Card], have: Card | None
) -> tuple[Card, Text] | None:
    """Which card to advise on: the user's (``--have``); else, when no option meets the
    constraints, the card with the most memory the budget buys one of; else none."""
    if have is not None:
        return have, Message("recommend.advice.have")
    if rec.usable:
        return None
    budget = rec.constraints.budget
    best = None
    for card in cards:
        price = rec.prices.price(card)
        if price is None or price.buy is None:
            continue
        if budget is not None and price.buy > budget:
            continue
        if best is None or usable_memory(card).bytes > usable_memory(best).bytes:
            best = card
    if best is None:
        return None
    return best, Message("recommend.advice.budget")
