"""``recommend --task infer --engine vllm``: the cards (and how many of each, tensor parallel)
that serve a model with vLLM.

Each card of the search is tried on every count from 1 to ``max_gpus`` that vLLM takes as a
tensor-parallel size for the model (one that divides the attention heads and suits the KV
heads: :func:`gpuwise.infer.vllm.tensor_parallel_ok`). Unlike llama.cpp's layer split, more
cards serve more: each holds 1/N of the weights, so the KV cache, the sequences at once and
the throughput grow with N. A machine the user names (``2x4090``) is tried as named.

Every figure is the plan's (:func:`gpuwise.infer.vllm_card.vllm_card`, as ``plan --engine
vllm --gpu CARD --gpus N`` calls it). An option's speed (``tokens_per_s``) is the serving
throughput at ``--concurrency`` sequences (as many as the KV cache holds when not given), so
``--objective fastest`` ranks by capacity and ``cost-to-finish`` by what a million tokens
served costs. A machine that holds fewer than ``--concurrency`` sequences of ``--seq`` tokens
at once fits but is held back.
"""

from __future__ import annotations

import functools

from gpuwise.catalog import Card, usable_memory
from gpuwise.i18n import Message
from gpuwise.infer.vllm import VllmSettings, tensor_parallel_ok
from gpuwise.infer.vllm_card import VllmCard, vllm_card
from gpuwise.models.spec import ModelSpec
from gpuwise.parallel import Parallel
from gpuwise.plan.precision import for_card
from gpuwise.recommend.options import (
    Constraints,
    InGiB,
    Option,
    Recommendation,
    _constraint_reason,
    _costing,
    _given,
    _price,
    _sort_key,
    advice_target,
    joined,
)
from gpuwise.recommend.prices import PriceBook
from gpuwise.record import replace
from gpuwise.workload import Workload

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

    from gpuwise.i18n import Text


class VllmOption(Option):
    """An option of ``recommend --task infer --engine vllm``: an :class:`Option` with the plan
    vLLM runs on ``count`` of the card (set by :func:`vllm_option`)."""

    plan: VllmCard | None = None

    @property
    def strategy(self) -> str:
        return "single" if self.count == 1 else "tensor-parallel"


def tp_counts(spec: ModelSpec, most: int) -> list[int]:
    """The card counts 1..``most`` vLLM runs ``spec`` tensor parallel on."""
    return [n for n in range(1, most + 1) if tensor_parallel_ok(spec, n)]


def vllm_option(
    spec: ModelSpec,
    w: Workload,
    s: VllmSettings,
    card: Card,
    count: int,
    constraints: Constraints,
    book: PriceBook,
    tokens: int | None,
) -> VllmOption:
    """vLLM on ``count`` of ``card`` (tensor parallel when more than one), as an option."""
    cw, precision = for_card(w, card)
    reserve = constraints.reserve_bytes
    usable = usable_memory(card).bytes
    settings = replace(s, tensor_parallel=count)
    vc = vllm_card(spec, settings, card, usable, reserve, w.seq, tokens, w.batch)
    t, sv = vc.time, vc.serving
    cost, pricing, source, unknown = _price(card, count, book, t.run_s)
    option = VllmOption(
        card=card,
        count=count,
        parallel=Parallel() if count == 1 else None,
        fits=vc.fits,
        memory=vc.rank_memory,
        usable_bytes=usable - reserve,
        tokens_per_s=sv.throughput_tokens_per_s if vc.fits else None,
        run_s=t.run_s if vc.fits else None,
        cost=cost,
        pricing=pricing,
        price_source=source,
        power_w=card.tdp_w * count,
    )
    option.plan = vc
    option.timer = functools.partial(_given, t)
    option.precision, option.workload = precision, cw
    if vc.fits:
        reasons = [_constraint_reason(option, constraints, book, unknown)]
        if s.concurrency is not None and sv.max_concurrent_seqs < s.concurrency:
            reasons.insert(
                0,
                Message(
                    "vllm_rec.reason.concurrency",
                    most=f"{sv.max_concurrent_seqs:,}",
                    asked=f"{s.concurrency:,}",
                    seq=f"{w.seq:,}",
                ),
            )
        option.reason = joined([r for r in reasons if r is not None])
    else:
        option.reason = not_fitting(vc, w.seq)
    return option


def not_fitting(vc: VllmCard, seq: int) -> Text:
    """Why vLLM cannot serve on a machine: the card runs neither the engine nor the weights;
    the weights, activation peak and memory outside torch take more than vLLM's share; or the
    KV cache left holds less than one sequence of ``seq`` tokens."""
    if vc.problems:
        return vc.problems[0]
    sv = vc.serving
    fixed = sv.weights_bytes + sv.activation_bytes + sv.non_torch_bytes
    if fixed >= sv.budget_bytes:
        return InGiB("vllm_rec.reason.no_room", need=fixed, usable=sv.budget_bytes)
    return Message("vllm_rec.reason.short_cache", tokens=f"{sv.kv_cache_tokens:,}", seq=f"{seq:,}")


def vllm_recommend(
    spec: ModelSpec,
    w: Workload,
    s: VllmSettings,
    cards: list[Card],
    machines: list[list[Card]],
    constraints: Constraints,
    book: PriceBook,
    objective: str,
    tokens: int | None,
    have: Card | None = None,
) -> tuple[Recommendation, dict[str, Any] | None]:
    """Every card on each tensor-parallel count up to ``max_gpus`` and every named machine,
    ranked by ``objective``; with ``have`` (the user's card), or when no machine is usable, the
    advice for one card (:func:`gpuwise.infer.vllm_advice.vllm_advice`, as its JSON)."""
    counts = tp_counts(spec, constraints.max_gpus)
    options: list[Option] = []
    for card in cards:
        options += [vllm_option(spec, w, s, card, n, constraints, book, tokens) for n in counts]
    searched = {(c.name, n) for c in cards for n in counts}
    for machine in machines:  # a named machine the search has not tried already
        if (machine[0].name, len(machine)) not in searched:
            searched.add((machine[0].name, len(machine)))
            options.append(
                vllm_option(spec, w, s, machine[0], len(machine), constraints, book, tokens)
            )
    for option in options:  # the quotes a cost is made of, as recommend gives them
        price = book.price(option.card)
        if price is not None:
            _costing(option, price)
    options.sort(key=lambda o: _rank(o, objective))
    considered = len({c.name for c in cards} | {m[0].name for m in machines})
    rec = Recommendation(spec, w, constraints, objective, tokens, options, book, considered)
    target = advice_target(rec, cards or [m[0] for m in machines], have)
    if target is None:
        return rec, None
    from gpuwise.infer.vllm_advice import advice_dict, vllm_advice

    card, why = target
    advice = vllm_advice(
        spec,
        s,
        card,
        usable_memory(card).bytes,
        constraints.reserve_bytes,
        w.seq,
        why,
        constraints.max_gpus,
    )
    return rec, advice_dict(advice)


def _rank(o: Option, objective: str) -> tuple[Any, ...]:
    """Usable options by the objective, then those a constraint holds back, then those that do
    not serve, the nearest to fitting first."""
    if o.fits:
        return _sort_key(o, objective)
    headroom = o.plan.headroom_bytes if isinstance(o, VllmOption) and o.plan else -(1 << 60)
    return (1, o.cost is None, 1, -headroom)


def option_keys(o: Option) -> dict[str, Any]:
    """What an option of vLLM adds to (or says instead of) ``recommend --json``'s option keys:
    the strategy, the serving figures as ``plan --json``'s ``cards[].serving`` has them, the
    memory one rank needs, decode (one sequence) and prefill speed."""
    if not isinstance(o, VllmOption) or o.plan is None:
        return {}
    from gpuwise.infer.vllm_card import serving_dict

    vc = o.plan
    sv = vc.serving
    return {
        "strategy": o.strategy,
        "engine": "vllm",
        "tensor_parallel": o.count,
        "required_per_gpu_bytes": sv.budget_bytes - vc.headroom_bytes,
        "headroom_bytes": vc.headroom_bytes,
        "host_ram_bytes": 0,
        "serving": serving_dict(sv),
        "kv_cache_tokens": sv.kv_cache_tokens,
        "max_concurrent_seqs": sv.max_concurrent_seqs,
        "concurrency": sv.concurrency,
        "throughput_tokens_per_s": sv.throughput_tokens_per_s,
        "decode_tokens_per_s": vc.time.decode_tokens_per_s,
        "prefill_tokens_per_s": vc.time.prefill_tokens_per_s,
        "problems": list(vc.problems),
    }
