"""An explanation -> its JSON document (``gpuwise explain --json``; the web page serves it).

The same envelope as every document; the plan's model, workload and card as ``plan --json``
has them, and the steps in order, each with its lines. Prose (titles, ideas, labels, formulas,
notes) is written in the language in use; keys, ids, units and numbers are the same in both.
Each line also gives its value as the terminal shows it (``shown``, in the language in use:
the web page shows the same), and a line in bytes its value in GB (10^9) and GiB (2^30),
rounded to 3 decimals.
"""

from __future__ import annotations

from gpuwise.explain.step import Line, Step, per, sci
from gpuwise.i18n import t
from gpuwise.render.document import envelope
from gpuwise.render.plan_json import memory_dict, workload_dict
from gpuwise.units import GB, GIB, count, gib

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

    from gpuwise.explain.walk import Explanation


#: Seconds in a minute, an hour and a day, and the longest a time is shown in the unit below.
_MINUTE, _HOUR, _DAY = 60.0, 3600.0, 86400.0


def duration(seconds: float) -> str:
    """``0.038 s``, ``2.28 s``, ``12.5 min``, ``3.2 h``, ``12.9 days``: in the largest unit
    that keeps the figure at most a few hundred."""
    if seconds < 2 * _MINUTE:
        digits = 3 if seconds < 1 else 2
        return t("explain.unit.s", value=f"{seconds:,.{digits}f}")
    if seconds < 2 * _HOUR:
        return t("explain.unit.min", value=f"{seconds / _MINUTE:,.1f}")
    if seconds < 2 * _DAY:
        return t("explain.unit.h", value=f"{seconds / _HOUR:,.1f}")
    return t("explain.unit.days", value=f"{seconds / _DAY:,.1f}")


def value_text(value: Any, unit: str) -> str:
    """A line's value in its unit, for a table cell."""
    if value is None:
        return t("explain.unit.unknown")
    if unit == "params":
        return t("explain.unit.params", value=f"{value:,}", short=count(value))
    if unit == "bytes":
        return gib(value)
    if unit == "flops":
        return t("explain.unit.flops", value=sci(value))
    if unit == "flop_s":
        return t("explain.unit.flop_s", value=per(value / 1e12))
    if unit == "s":
        return duration(value)
    if unit == "tokens_s":
        return t("explain.unit.tokens_s", value=f"{value:,.1f}")
    if unit == "fraction":
        return t("explain.unit.fraction", value=per(100 * value))
    if unit == "kwh":
        return t("explain.unit.kwh", value=f"{value:,.2f}")
    if unit == "bool":
        return t("explain.value.yes" if value else "explain.value.no")
    return str(value)


def line_dict(x: Line) -> dict[str, Any]:
    out: dict[str, Any] = {
        "key": x.key,
        "label": x.label,
        "formula": x.formula,
        "value": x.value,
        "unit": x.unit,
        "shown": value_text(x.value, x.unit),
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
        reserve_bytes=e.plan.reserve_bytes,
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
