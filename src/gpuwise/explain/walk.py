"""The walk: one plan of the job (on the one card asked for, or on none), and the six steps
made from it, in the order a beginner learns them."""

from __future__ import annotations

from gpuwise.catalog import Card
from gpuwise.explain.activations import activation_step
from gpuwise.explain.flops import flops_step
from gpuwise.explain.params import parameter_step
from gpuwise.explain.state import bytes_step
from gpuwise.explain.step import Step
from gpuwise.explain.total import total_step
from gpuwise.explain.units import units_step
from gpuwise.models.spec import ModelSpec
from gpuwise.plan.make import CardPlan, Plan, make_plan
from gpuwise.plan.precision import for_card
from gpuwise.record import record
from gpuwise.workload import Workload

#: The steps' ids, in the order they are shown.
STEP_IDS = ("parameters", "bytes_per_parameter", "activations", "total", "flops", "units")


@record
class Explanation:
    """The plan explained (``plan``: what ``gpuwise plan`` makes of the same job), the
    workload as it runs (``workload``: on the card, in its precision) and the ``steps``."""

    plan: Plan
    workload: Workload
    card: CardPlan | None
    steps: tuple[Step, ...]


def explain(
    spec: ModelSpec,
    w: Workload,
    card: Card | None = None,
    tokens: int | None = None,
    reserve_bytes: int = 0,
) -> Explanation:
    """The six steps of ``w`` for ``spec``, on ``card`` (its precision when ``w`` names none)
    or on no card (the precision of the ``without_card`` rule), with ``reserve_bytes`` of the
    card kept for other uses."""
    plan = make_plan(
        spec, w, [card] if card else [], tokens, reserve_bytes, search=False, advise=False
    )
    on = plan.cards[0] if plan.cards else None
    run = on.workload if on else for_card(w, None)[0]
    memory = on.memory if on else plan.memory
    steps = (
        parameter_step(spec, run),
        bytes_step(spec, run, memory),
        activation_step(spec, run, memory),
        total_step(memory, on, reserve_bytes),
        flops_step(spec, run, on.card if on else None, on.time if on else None, tokens),
        units_step(memory, on),
    )
    assert tuple(s.id for s in steps) == STEP_IDS
    return Explanation(plan, run, on, steps)
