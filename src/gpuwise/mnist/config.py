"""The example's data file: MNIST files, mirrors, checksums and default settings (with sources)."""

from __future__ import annotations

from typing import Any

from gpuwise.packaged import packaged_json


def mnist_data() -> dict[str, Any]:
    """``gpuwise/mnist/data/mnist.json``, parsed once (read it, never change it)."""
    data: dict[str, Any] = packaged_json("gpuwise.mnist", "data/mnist.json")
    return data


def defaults(dataset: str) -> dict[str, Any]:
    """Epochs, learning rate, batch and seed for ``dataset`` (``mnist`` or ``digits``), plus
    the settings every run shares (hidden width, dropout, Adam's constants, the fast batch)."""
    d = mnist_data()["defaults"]
    shared = {k: v for k, v in d.items() if k not in ("source", "why", "mnist", "digits")}
    return {**shared, **d[dataset]}
