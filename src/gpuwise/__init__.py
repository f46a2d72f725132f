"""gpuwise: plan, check and measure large-model work on NVIDIA GPUs.

The public names are re-exported here; everything else is private. A user writes::

    from gpuwise import load_model, load_catalog

    spec = load_model("llama-3.1-8b")
    card = load_catalog().find("rtx 4090")
"""

from gpuwise._version import __version__
from gpuwise.catalog import Card, Catalog, load_catalog
from gpuwise.errors import GpuwiseError
from gpuwise.models import ModelSpec, ParamBlock, load_model

__all__ = [
    "Card",
    "Catalog",
    "GpuwiseError",
    "ModelSpec",
    "ParamBlock",
    "__version__",
    "load_catalog",
    "load_model",
]
