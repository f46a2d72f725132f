"""An explanation -> its JSON document (``gpuwise explain --json``; the web page serves it).

The same envelope as every document; the plan's model, workload and card as ``plan --json``
has them, and the steps in order, each with its lines. Prose (titles, ideas, labels, formulas,
notes) is written in the language in use; keys, ids, units and numbers are the same in both.
A line in bytes also gives its value in GB (10^9) and GiB (2^30), rounded to 3 decimals.
"""

from __future__ import annotations

from gpuwise.explain.step import Line, Step
from gpuwise.render.document import envelope
from gpuwise.render.plan_json import memory_dict, workload_dict
from gpuwise.units import GB, GIB

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

    from gpuwise.explain.walk import Explanation


def line_dict(x: Line) -> dict[str, Any]:
    out: dict[str, Any] = {
        "key": x.key,
        "label": x.label,
        "formula": x.formula,
        "value": x.value,
        "unit": x.unit,
    }
    if x.unit == "bytes" and isinstance(x.value, int):
        out["gb"] = round(x.value / GB, 3)
        out["gib"] = round(x.value / GIB, 3)
    return out


def step_dict(number: int, s: Step) -> dict[str, Any]:
    return {
        "number": number,
        "id": s.id,
        "title": s.title,
        "idea": s.idea,
        "lines": [line_dict(x) for x in s.lines],
        "notes": list(s.notes),
    }


def explain_doc(e: Explanation, catalog_date: str) -> dict[str, Any]:
    """The explanation: what was planned (``model``, ``workload``, ``card``), the plan's
    ``memory`` (as ``plan --json`` has it) and the ``steps``."""
    spec, card = e.plan.spec, e.card
    return envelope(
        catalog_date=catalog_date,
        model={
            "name": spec.name,
            "model_type": spec.model_type,
            "params": spec.params,
            "trained_params": spec.trained_params,
            "active_params": spec.active_params,
        },
        workload=workload_dict(
            e.workload, card.precision.given if card else e.plan.workload.precision_given
        ),
        tokens=e.plan.tokens,
        card=None
        if card is None
        else {
            "name": card.card.name,
            "slug": card.card.slug,
            "memory_gb": card.card.memory_gb,
            "usable_memory_bytes": card.usable_bytes,
            "fits": card.fits,
            "headroom_bytes": card.headroom_bytes,
        },
        memory=memory_dict(card.memory if card else e.plan.memory),
        steps=[step_dict(i + 1, s) for i, s in enumerate(e.steps)],
    )
