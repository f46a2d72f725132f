"""Optional imports of the MNIST example, each failing with one line that names what to install."""

from __future__ import annotations

import importlib
import os
from types import ModuleType

from gpuwise.errors import GpuwiseError

_INSTALL = {
    "numpy": "pip install 'gpuwise[mnist]'",
    "sklearn": "pip install 'gpuwise[mnist]' (scikit-learn ships the 8x8 digits)",
    "torch": "pip install torch (see `gpuwise doctor` for the build that suits your card), "
    "or run the NumPy version alone with --impl numpy",
    "tensorflow": "pip install 'gpuwise[keras]' (TensorFlow; for its GPU build on your card "
    "see `gpuwise doctor`), or leave keras out of --impl",
}


#: Set (unless the user set them) before the import: TensorFlow logs pages of INFO to stderr.
_QUIET = {"tensorflow": {"TF_CPP_MIN_LOG_LEVEL": "2"}}


def need(module: str) -> ModuleType:
    """Import ``module`` or raise a :class:`GpuwiseError` that says how to install it."""
    for name, value in _QUIET.get(module, {}).items():
        os.environ.setdefault(name, value)
    try:
        return importlib.import_module(module)
    except ImportError as e:
        raise GpuwiseError(f"gpuwise mnist needs {module}: {_INSTALL[module]} ({e})") from e
