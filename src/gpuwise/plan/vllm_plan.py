"""The plan of ``plan --task infer --engine vllm``: one entry per card asked for (each run
``--gpus`` times, tensor parallel), built from :func:`gpuwise.infer.vllm_card.vllm_card`."""

from __future__ import annotations

from gpuwise.catalog import Card, usable_memory
from gpuwise.errors import GpuwiseError
from gpuwise.i18n import Message
from gpuwise.infer.vllm import VllmSettings
from gpuwise.infer.vllm_card import vllm_card
from gpuwise.models.spec import ModelSpec
from gpuwise.plan.make import CardPlan, Plan
from gpuwise.plan.precision import for_card
from gpuwise.workload import Workload


def vllm_plan(
    spec: ModelSpec,
    w: Workload,
    cards: list[Card],
    tokens: int | None,
    reserve_bytes: int,
    s: VllmSettings,
) -> Plan:
    """vLLM serving ``spec`` on each of ``cards`` (``s.tensor_parallel`` of each)."""
    if not cards:
        raise GpuwiseError(Message("infer.no_cards"))
    out = []
    for card in cards:
        cw, precision = for_card(w, card)
        usable = usable_memory(card)
        vc = vllm_card(spec, s, card, usable.bytes, reserve_bytes, w.seq, tokens, w.batch)
        out.append(
            CardPlan(
                card=card,
                usable_bytes=usable.bytes,
                usable_measured=usable.measured,
                fits=vc.fits,
                headroom_bytes=vc.headroom_bytes,
                time=vc.time,
                workload=cw,
                memory=vc.rank_memory,
                precision=precision,
                problems=vc.problems,
                serving=vc.serving,
            )
        )
    return Plan(spec, w, out[0].memory, out, tokens, reserve_bytes, engine=s)
