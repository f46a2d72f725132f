"""The layer class FSDP wraps per model type (data/layer_classes.json, with its sources)."""

from __future__ import annotations

from gpuwise.packaged import packaged_json


def layer_classes() -> dict[str, str]:
    return dict(packaged_json("gpuwise.engines", "data/layer_classes.json")["classes"])


def layer_class(model_type: str) -> str | None:
    """The transformer layer class name of ``model_type``; None when gpuwise does not know it
    (accelerate then wraps the model's own ``_no_split_modules``)."""
    return layer_classes().get(model_type)
