"""gpuwise: plan, check and measure large-model work on NVIDIA GPUs.

The public names are re-exported here; everything else is private. A user writes::

    from gpuwise import Workload, load_catalog, load_model, make_plan

    spec = load_model("llama-3.1-8b")
    card = load_catalog().find("rtx 4090")
    plan = make_plan(spec, Workload(method="qlora", seq=1024), [card])
    plan.memory.required_bytes, plan.cards[0].fits, plan.cards[0].time["train_tokens_per_s"]
"""

from gpuwise._version import __version__
from gpuwise.catalog import Card, Catalog, load_catalog
from gpuwise.errors import GpuwiseError
from gpuwise.models import ModelSpec, ParamBlock, load_model
from gpuwise.plan import Plan, estimate_memory, make_plan
from gpuwise.workload import Workload, validate

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
