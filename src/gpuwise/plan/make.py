"""A plan: the memory of the reference step (docs/reference-step.md), and per card whether it
fits, the largest batch and context that fit, how long it takes, and what to change when a
card asked for is too small (on one card or several with a strategy).

``make_plan`` is the one place a plan's numbers are computed; the command line, ``--json`` and
any other face render a :class:`Plan` and never compute their own.
"""

from __future__ import annotations

from gpuwise.catalog import Card, Catalog, usable_memory
from gpuwise.errors import GpuwiseError
from gpuwise.i18n import Message
from gpuwise.memory.rank import RankMemory
from gpuwise.models.spec import ModelSpec
from gpuwise.parallel import Parallel
from gpuwise.plan.defaults import defaults
from gpuwise.plan.fit import SINGLE, estimate_memory, largest_fitting, largest_where, problems
from gpuwise.plan.precision import CardPrecision, for_card
from gpuwise.plan.time import CardTime, card_time
from gpuwise.record import field, record
from gpuwise.workload import Workload

TYPE_CHECKING = False
if TYPE_CHECKING:
    from gpuwise.infer.card import Offload
    from gpuwise.infer.engine import EngineSettings
    from gpuwise.infer.vllm import VllmSettings
    from gpuwise.infer.vllm_card import Serving
    from gpuwise.plan.advice import Advice

#: Largest batch the search tries.
BATCH_LIMIT = 1 << 16


@record(frozen=False)
class CardPlan:
    """One card's verdict: fits or not, by how much, and the time model's figures; the
    ``workload`` as this card runs it (in its ``precision``) and its ``memory``."""

    card: Card
    usable_bytes: int
    usable_measured: bool
    fits: bool
    headroom_bytes: int
    time: CardTime
    workload: Workload
    memory: RankMemory
    precision: CardPrecision
    max_batch: int | None = None
    max_seq: int | None = None
    problems: list[Message] = field(default_factory=list)
    offload: Offload | None = None  # llama.cpp: the layers on the card, the rest in host RAM
    serving: Serving | None = None  # vLLM: the KV cache, the sequences it holds, throughput


@record(frozen=False)
class Plan:
    """The job (``spec``, ``workload`` as asked, ``parallel``), one verdict per card (each in
    its own precision when none was asked for), and the advice when the one card asked for is
    too small. ``memory`` is the first card's (every card's when they share a precision)."""

    spec: ModelSpec
    workload: Workload
    memory: RankMemory
    cards: list[CardPlan]
    tokens: int | None
    reserve_bytes: int
    parallel: Parallel = SINGLE
    advice: Advice | None = None  # the card nearest to fitting (most usable memory) of those
    # advised; every advised card's in ``card_advice`` (each card asked for that does not fit)
    card_advice: list[Advice] = field(default_factory=list)
    engine: EngineSettings | VllmSettings | None = None  # llama.cpp / Ollama / vLLM

    @property
    def host_bytes(self) -> int:
        """Host RAM offload needs, all cards together (0 without offload)."""
        return self.memory.host_bytes

    def launch_workload(self) -> Workload:
        """The workload launch files are written for: the cards' precision (a one-line
        GpuwiseError when no precision was asked for and the cards differ in theirs)."""
        precisions = {c.workload.precision for c in self.cards}
        if len(precisions) > 1:
            each = ", ".join(f"{c.card.name} {c.workload.precision}" for c in self.cards)
            raise GpuwiseError(Message("plan.emit_mixed_precisions", each=each))
        return self.cards[0].workload if self.cards else self.workload


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
    engine: EngineSettings | VllmSettings | None = None,
    machines: list[list[Card]] | None = None,
) -> Plan:
    """The plan of ``w`` on each of ``cards`` (one rank of ``parallel`` each); ``search``: the
    largest batch and context that fit; ``advise``: what to change when the one card asked for
    is too small (:func:`gpuwise.plan.advice.plan_advice`); ``engine``: llama.cpp's (or
    Ollama's) settings for ``--task infer`` (:mod:`gpuwise.infer`), None for transformers;
    ``machines``: with llama.cpp, the cards of each machine (``--gpu 4090+3090``) its layers are
    split over (else each card, ``parallel.gpus`` of it)."""
    if engine is not None and engine.engine == "vllm":
        from gpuwise.plan.vllm_plan import vllm_plan

        return vllm_plan(spec, w, cards, tokens, reserve_bytes, engine)  # type: ignore[arg-type]
    if engine is not None:
        groups = machines or [[card] * max(1, parallel.gpus) for card in cards]
        return _llama_plan(
            spec,
            w,
            groups,
            tokens,
            reserve_bytes,
            search,
            parallel,
            engine,  # type: ignore[arg-type]
            advise,
        )
    out = []
    for card in cards:
        cw, precision = for_card(w, card)
        memory = estimate_memory(spec, cw, parallel)
        usable = usable_memory(card)
        headroom = usable.bytes - reserve_bytes - memory.required_bytes
        cannot = problems(cw, card)
        plan = CardPlan(
            card=card,
            usable_bytes=usable.bytes,
            usable_measured=usable.measured,
            fits=headroom >= 0 and not cannot,
            headroom_bytes=headroom,
            time=card_time(spec, cw, card, parallel, memory, tokens),
            workload=cw,
            memory=memory,
            precision=precision,
            problems=cannot,
        )
        if search:
            plan.max_batch = largest_fitting(
                spec, cw, card, reserve_bytes, "batch", BATCH_LIMIT, parallel
            )
            plan.max_seq = largest_fitting(
                spec, cw, card, reserve_bytes, "seq", _seq_limit(spec, cw), parallel
            )
        out.append(plan)
    first = out[0].memory if out else estimate_memory(spec, for_card(w, None)[0], parallel)
    result = Plan(spec, w, first, out, tokens, reserve_bytes, parallel)
    if advise and _wants_advice(result):
        from gpuwise.plan.advice import plan_advice

        named = [c.slug for c in cards] != defaults()["cards"]
        result.card_advice = plan_advice(result, named)
        if result.card_advice:
            result.advice = max(result.card_advice, key=lambda a: a.usable_bytes)
    return result


def _llama_plan(
    spec: ModelSpec,
    w: Workload,
    machines: list[list[Card]],
    tokens: int | None,
    reserve_bytes: int,
    search: bool,
    parallel: Parallel,
    engine: EngineSettings,
    advise: bool = True,
) -> Plan:
    """The plan of ``w`` run by llama.cpp on each machine (one card, or several splitting the
    layers): the layers that fit, the memory on the cards and in host RAM, decode and prefill
    speed (:func:`gpuwise.infer.card.llama_card`, :func:`~gpuwise.infer.card.llama_machine`)."""
    from gpuwise.infer.card import fit_margin, llama_card, llama_machine

    if parallel.strategy not in ("single", "fsdp") or parallel.grad_accum > 1:
        # --gpus N alone means fsdp to the parser; llama.cpp splits the layers instead
        raise GpuwiseError(Message("infer.layer_split_only", strategy=parallel.strategy))
    if not machines:
        raise GpuwiseError(Message("infer.no_cards"))
    out = []
    for machine in machines:
        card = machine[0]
        cw, precision = for_card(w, card)
        usable = usable_memory(card)
        if len(machine) > 1:
            usables = [usable_memory(c).bytes for c in machine]
            lc = llama_machine(
                spec, engine, machine, usables, reserve_bytes, w.seq, w.batch, tokens
            )
        else:
            lc = llama_card(spec, engine, card, usable.bytes, reserve_bytes, w.seq, w.batch, tokens)
        out.append(
            CardPlan(
                card=card,
                usable_bytes=usable.bytes,
                usable_measured=usable.measured,
                fits=lc.fits,
                headroom_bytes=lc.headroom_bytes,
                time=lc.time,
                workload=cw,
                memory=lc.rank_memory,
                precision=precision,
                max_seq=(
                    _llama_max_ctx(
                        spec,
                        lc.settings,
                        usable.bytes - reserve_bytes - fit_margin(lc.settings),
                        _seq_limit(spec, w),
                    )
                    if search and len(machine) == 1
                    else None
                ),
                offload=lc.offload,
            )
        )
    plan = Plan(spec, w, out[0].memory, out, tokens, reserve_bytes, parallel, engine=engine)
    if advise and len(machines) == 1 and len(machines[0]) == 1 and not out[0].fits:
        from gpuwise.infer.advice import llama_advice

        card = machines[0][0]  # smaller weights, KV cache, context, GPU layers, more cards
        why = Message("advice.why.asked")
        plan.advice = llama_advice(  # type: ignore[assignment]
            spec, engine, card, out[0].usable_bytes, reserve_bytes, w.seq, why
        )
    return plan


def _llama_max_ctx(spec: ModelSpec, s: EngineSettings, available: int, limit: int) -> int | None:
    """The longest context llama.cpp fits in ``available`` bytes with every layer on the card
    (or the GPU layers asked for); None when even 1 token does not."""
    from gpuwise.infer.memory import llama_memory, weight_split

    layers = spec.num_layers + 1 if s.gpu_layers is None else s.gpu_layers
    split = weight_split(spec, s.weight_type)

    def fits(n: int) -> bool:
        return llama_memory(spec, s, n, layers, split).gpu_bytes <= available

    return largest_where(fits, 1, limit)


def _wants_advice(plan: Plan) -> bool:
    """Whether the plan may show advice: some card does not fit the job for its memory (a
    card that cannot run the workload at all gets none), on one card or several with a
    strategy (:func:`gpuwise.plan.advice.plan_advice` says which cards)."""
    return any(not c.fits and not c.problems for c in plan.cards)
