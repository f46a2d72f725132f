"""``recommend --task infer`` with llama.cpp (or Ollama): the machines that run a GGUF model.

Each card of the search is tried on 1, 2, ... ``max_gpus`` of it, the layers split over them as
``plan --gpus N`` splits them (llama.cpp's ``--split-mode layer``), up to the first count that
holds every layer: more cards of the same kind only add cost under a layer split (a token
passes the cards one after another, so decode gets no faster). Counts below that are listed as
not fitting, with the speed they give when llama.cpp leaves the other layers in host RAM. A
machine the user names (``--gpu 4090+3090``, ``2x3090``) is one option as named.

Every figure is the plan's (:func:`gpuwise.infer.card.llama_card` for one card,
:func:`~gpuwise.infer.card.llama_machine` for several, called as ``plan`` calls them), so an
option equals ``plan --task infer --gpu CARD [--gpus N]`` for the same machine. Options are
ranked by the objective: cost, decode speed, or decode tokens per unit of cost.
"""

from __future__ import annotations

import functools

from gpuwise.catalog import Card, usable_memory
from gpuwise.i18n import Message
from gpuwise.infer.card import LlamaCard, llama_card, llama_machine
from gpuwise.infer.engine import EngineSettings
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
)
from gpuwise.recommend.prices import PriceBook
from gpuwise.workload import Workload

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

    from gpuwise.i18n import Text


class LlamaOption(Option):
    """An option of ``recommend --task infer`` with llama.cpp: an :class:`Option` with the
    machine's cards and the plan llama.cpp runs on it (set by :func:`llama_option`)."""

    machine: tuple[Card, ...] = ()
    plan: LlamaCard | None = None

    @property
    def strategy(self) -> str:
        """single, or the split mode over the machine's cards: layer-split / row-split."""
        if len(self.machine) == 1:
            return "single"
        return f"{self.plan.settings.split_mode if self.plan else 'layer'}-split"

    @property
    def name(self) -> str:
        """The card's name, or the machine's when its cards differ ("A + B")."""
        if len({c.name for c in self.machine}) == 1:
            return self.machine[0].name
        return " + ".join(c.name for c in self.machine)


def llama_option(
    spec: ModelSpec,
    w: Workload,
    s: EngineSettings,
    machine: list[Card],
    constraints: Constraints,
    book: PriceBook,
    tokens: int | None,
) -> LlamaOption:
    """llama.cpp on ``machine`` (one card, or several splitting the layers), as an option."""
    card = machine[0]
    cw, precision = for_card(w, card)
    reserve = constraints.reserve_bytes
    usables = [usable_memory(c).bytes for c in machine]
    if len(machine) == 1:
        lc = llama_card(spec, s, card, usables[0], reserve, w.seq, w.batch, tokens)
    else:
        lc = llama_machine(spec, s, machine, usables, reserve, w.seq, w.batch, tokens)
    t = lc.time
    power = sum(c.tdp_w for c in machine)
    cost, pricing, source, unknown = _machine_price(machine, book, t.run_s)
    option = LlamaOption(
        card=card,
        count=len(machine),
        parallel=Parallel() if len(machine) == 1 else None,
        fits=lc.fits,
        memory=lc.rank_memory,
        usable_bytes=usables[0] - reserve,
        tokens_per_s=t.decode_tokens_per_s,
        run_s=t.run_s,
        cost=cost,
        pricing=pricing,
        price_source=source,
        power_w=power,
    )
    option.machine, option.plan = tuple(machine), lc
    option.timer = functools.partial(_given, t)
    option.precision, option.workload = precision, cw
    if lc.fits:
        option.reason = _constraint_reason(option, constraints, book, unknown)
    else:
        option.reason = _not_fitting(lc, constraints)
    if lc.offload.host_bytes > constraints.host_ram_bytes and option.reason is not None:
        option.reason = InGiB(
            "recommend.reason.and_host", reason=option.reason, host=lc.offload.host_bytes
        )
    return option


def _not_fitting(lc: LlamaCard, constraints: Constraints) -> Text:
    """Why a machine does not hold the model: the layers that fit, the host RAM the rest takes
    and the decode speed llama.cpp gives so; or that not even the output layer fits."""
    o = lc.offload
    if o.gpu_layers == 0:
        return InGiB("infer.rec.no_layer", host=o.host_bytes)
    return InGiB(
        "infer.rec.partial",
        layers=o.gpu_layers,
        total=o.total_layers,
        host=o.host_bytes,
        decode=f"{lc.time.decode_tokens_per_s:,.1f}",
    )


def _machine_price(
    machine: list[Card], book: PriceBook, run_s: float | None
) -> tuple[float | None, str | None, Text | None, Text | None]:
    """(cost, pricing, source, why unknown) of the machine's cards: one card's price times
    their count, or the sum of the cards' prices when they differ (bought, or else rented for
    the run; unknown when one card has no price of the kind)."""
    kinds = {c.name: c for c in machine}
    if len(kinds) == 1:
        return _price(machine[0], len(machine), book, run_s)
    quotes = [_price(c, 1, book, run_s) for c in machine]
    for cost, _, _, unknown in quotes:
        if cost is None:
            return None, None, None, unknown
    if len({q[1] for q in quotes}) > 1:  # one card bought, another rented: not one price
        return None, None, None, Message("infer.rec.mixed_pricing")
    total = sum(q[0] or 0.0 for q in quotes)
    return total, quotes[0][1], quotes[0][2], None


def llama_recommend(
    spec: ModelSpec,
    w: Workload,
    s: EngineSettings,
    cards: list[Card],
    machines: list[list[Card]],
    constraints: Constraints,
    book: PriceBook,
    objective: str,
    tokens: int | None,
    have: Card | None = None,
) -> Recommendation:
    """Every card on 1..``max_gpus`` of it (up to the first count that holds every layer) and
    every named machine, ranked by ``objective``; with ``have`` (the user's card), or when no
    machine is usable, the advice for one card (:func:`gpuwise.infer.advice.llama_advice`)."""
    options: list[Option] = []
    for card in cards:
        for count in range(1, constraints.max_gpus + 1):
            o = llama_option(spec, w, s, [card] * count, constraints, book, tokens)
            options.append(o)
            if o.fits and s.split_mode == "layer":  # a row split reads faster on more cards
                break
    for machine in machines:
        options.append(llama_option(spec, w, s, machine, constraints, book, tokens))
    for option in options:  # the quotes a cost is made of, as recommend gives them (one kind)
        price = book.price(option.card)
        if price is not None and isinstance(option, LlamaOption) and len(set(option.machine)) == 1:
            _costing(option, price)
    options.sort(key=lambda o: _rank(o, objective))
    considered = len({c.name for c in cards} | {c.name for m in machines for c in m})
    rec = Recommendation(spec, w, constraints, objective, tokens, options, book, considered)
    target = advice_target(rec, cards, have)
    if target is not None:  # the user's card (--have), or the largest the budget buys
        from gpuwise.infer.advice import llama_advice

        card, why = target
        usable = usable_memory(card).bytes
        rec.advice = llama_advice(  # type: ignore[assignment]
            spec, s, card, usable, constraints.reserve_bytes, w.seq, why, constraints.max_gpus
        )
    return rec


def _rank(o: Option, objective: str) -> tuple[Any, ...]:
    """The ranking of options: usable ones by the objective, then those a constraint holds
    back, then those that do not hold the model, fastest first (the most layers on the cards)."""
    if o.fits:
        return _sort_key(o, objective)
    return (1, o.cost is None, 1, -(o.tokens_per_s or 0.0))


def option_keys(o: Option) -> dict[str, Any]:
    """What an option of llama.cpp adds to (or says instead of) ``recommend --json``'s option
    keys: the machine, each card's memory and layers, the offload, decode and prefill speed."""
    if not isinstance(o, LlamaOption) or o.plan is None:
        return {}
    lc, off = o.plan, o.plan.offload
    per_gpu: list[dict[str, Any]]
    if off.per_gpu:
        per_gpu = [
            {
                "name": g.name,
                "memory_bytes": g.memory_bytes,
                "usable_memory_bytes": g.usable_bytes,
                "layers": g.layers,
                "output_layer": g.output,
            }
            for g in off.per_gpu
        ]
    else:
        m = lc.memory
        per_gpu = [
            {
                "name": o.card.name,
                "memory_bytes": m.gpu_bytes,
                "usable_memory_bytes": o.usable_bytes,
                "layers": max(m.gpu_layers - 1, 0),
                "output_layer": m.gpu_layers >= 1,
            }
        ]
    return {
        "gpu": o.name,
        "strategy": o.strategy,
        "engine": lc.settings.engine,
        "required_per_gpu_bytes": max(int(g["memory_bytes"]) for g in per_gpu),
        "headroom_bytes": lc.headroom_bytes,
        "host_ram_bytes": off.host_bytes,
        "per_gpu": per_gpu,
        "offload": {
            "gpu_layers": off.gpu_layers,
            "total_layers": off.total_layers,
            "host_bytes": off.host_bytes,
            "n_ctx": off.n_ctx,
        },
        "decode_tokens_per_s": lc.time.decode_tokens_per_s,
        "prefill_tokens_per_s": lc.time.prefill_tokens_per_s,
    }
