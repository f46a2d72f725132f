"""Plans: will a job fit a card, what is the largest batch or context that does, how long it
takes, and what to change when it does not fit.

- :mod:`gpuwise.plan.fit`: the fit test and the largest-batch / largest-context search;
- :mod:`gpuwise.plan.time`: the time of a job on a card, training or inference;
- :mod:`gpuwise.plan.make`: :func:`make_plan`, the one place a plan's numbers are computed;
- :mod:`gpuwise.plan.advice`: the smallest changes that make a job fit;
- :mod:`gpuwise.plan.defaults`: the model, cards and host RAM assumed when the user does not say.

Names are imported from their module on first use, so that reading the defaults for a help
text costs no planning code.
"""

from __future__ import annotations

import importlib

_EXPORTS = {
    "CardPlan": "make",
    "Plan": "make",
    "make_plan": "make",
    "plan_cards": "make",
    "CardTime": "time",
    "card_time": "time",
    "SINGLE": "fit",
    "estimate_memory": "fit",
    "fits_in": "fit",
    "fits_on": "fit",
    "largest_fitting": "fit",
    "largest_where": "fit",
    "problems": "fit",
    "usable_bytes": "fit",
    "defaults": "defaults",
}

__all__ = [
    "SINGLE",
    "CardPlan",
    "CardTime",
    "Plan",
    "card_time",
    "defaults",
    "estimate_memory",
    "fits_in",
    "fits_on",
    "largest_fitting",
    "largest_where",
    "make_plan",
    "plan_cards",
    "problems",
    "usable_bytes",
]

TYPE_CHECKING = False
if TYPE_CHECKING:  # the real names, for type checkers
    from typing import Any

    from gpuwise.plan.defaults import defaults
    from gpuwise.plan.fit import (
        SINGLE,
        estimate_memory,
        fits_in,
        fits_on,
        largest_fitting,
        largest_where,
        problems,
        usable_bytes,
    )
    from gpuwise.plan.make import CardPlan, Plan, make_plan, plan_cards
    from gpuwise.plan.time import CardTime, card_time


def __getattr__(name: str) -> Any:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module 'gpuwise.plan' has no attribute {name!r}")
    value = getattr(importlib.import_module(f"gpuwise.plan.{module}"), name)
    globals()[name] = value
    return value
