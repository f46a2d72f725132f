"""The data files shipped inside the package (catalogue, presets, terms, efficiencies, ...).

They are read as plain files next to the modules (``pip`` installs the package as files), not
through ``importlib.resources``, whose import alone costs more than a plan computes.
"""

from __future__ import annotations

import functools
import json
import os
import sys

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any


def packaged_path(package: str, path: str) -> str:
    """The file ``path`` (``"data/overhead.json"``) inside the imported ``package``."""
    module = sys.modules.get(package)
    if module is None:
        import importlib

        module = importlib.import_module(package)
    folder = os.path.dirname(module.__file__ or "")
    return os.path.join(folder, *path.split("/"))


def packaged_text(package: str, path: str) -> str:
    """The text of a packaged file."""
    with open(packaged_path(package, path), encoding="utf-8") as f:
        return f.read()


def packaged_names(package: str, folder: str, suffix: str) -> list[str]:
    """Names of the packaged files in ``folder`` ending in ``suffix``, sorted."""
    return sorted(n for n in os.listdir(packaged_path(package, folder)) if n.endswith(suffix))


@functools.cache
def packaged_json(package: str, path: str) -> Any:
    """``path`` inside ``package`` (``"gpuwise.memory"``, ``"data/overhead.json"``), parsed once.
    Callers share the result: read it, never change it."""
    return json.loads(packaged_text(package, path))
