"""Optional imports of the MNIST example, each failing with one line that names what to install."""

from __future__ import annotations

import importlib
from types import ModuleType

from gpuwise.errors import GpuwiseError

_INSTALL = {
    "numpy": "pip install 'gpuwise[mnist]'",
    "sklearn": "pip install 'gpuwise[mnist]' (scikit-learn ships the 8x8 digits)",
    "torch": "pip install torch (see `gpuwise doctor` for the build that suits your card), "
    "or run the NumPy version alone with --impl numpy",
}


def need(module: str) -> ModuleType:
    """Import ``module`` or raise a :class:`GpuwiseError` that says how to install it."""
    try:
        return importlib.import_module(module)
    except ImportError as e:
        raise GpuwiseError(f"gpuwise mnist needs {module}: {_INSTALL[module]} ({e})") from e
