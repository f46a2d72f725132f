"""Optional imports of the MNIST example, each failing with one line that names what to install."""

from __future__ import annotations

import importlib
import os
from types import ModuleType

from gpuwise.errors import GpuwiseError
from gpuwise.i18n import Message

_INSTALL = {
    "numpy": "mnist.install.numpy",
    "sklearn": "mnist.install.sklearn",
    "torch": "mnist.install.torch",
    "tensorflow": "mnist.install.tensorflow",
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
        how = Message(_INSTALL[module.split(".")[0]])
        raise GpuwiseError(
            Message("mnist.error.needs", module=module, how=how, error=str(e))
        ) from e
