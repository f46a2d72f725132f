"""gpuwise: plan, check and measure large-model work on NVIDIA GPUs.

The public names are re-exported here; everything else is private. A user writes::

    from gpuwise import Workload, load_catalog, load_model, make_plan

    spec = load_model("llama-3.1-8b")
    card = load_catalog().find("rtx 4090")
    plan = make_plan(spec, Workload(method="qlora", seq=1024), [card])
    plan.memory.required_bytes, plan.cards[0].fits, plan.cards[0].time.tokens_per_s

Each name is imported from its module on first use, so that a command pays only for what it
uses (``gpuwise gpus`` never loads the memory model).
"""

from __future__ import annotations

import importlib

from gpuwise._version import __version__

_EXPORTS = {
    "Card": "gpuwise.catalog",
    "Catalog": "gpuwise.catalog",
    "load_catalog": "gpuwise.catalog",
    "GpuwiseError": "gpuwise.errors",
    "ModelSpec": "gpuwise.models",
    "ParamBlock": "gpuwise.models",
    "load_model": "gpuwise.models",
    "Plan": "gpuwise.plan.make",
    "make_plan": "gpuwise.plan.make",
    "estimate_memory": "gpuwise.plan.fit",
    "Workload": "gpuwise.workload",
    "validate": "gpuwise.workload",
}

__all__ = [
    "Card",
    "Catalog",
    "GpuwiseError",
    "ModelSpec",
    "ParamBlock",
    "Plan",
    "Workload",
    "__version__",
    "estimate_memory",
    "load_catalog",
    "load_model",
    "make_plan",
    "validate",
]

TYPE_CHECKING = False
if TYPE_CHECKING:  # the real names, for type checkers
    from typing import Any

    from gpuwise.catalog import Card, Catalog, load_catalog
    from gpuwise.errors import GpuwiseError
    from gpuwise.models import ModelSpec, ParamBlock, load_model
    from gpuwise.plan.fit import estimate_memory
    from gpuwise.plan.make import Plan, make_plan
    from gpuwise.workload import Workload, validate


def __getattr__(name: str) -> Any:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module 'gpuwise' has no attribute {name!r}")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(__all__))
