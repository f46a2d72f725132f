"""The JSON data files shipped inside the package (catalogue, presets, terms, efficiencies, ...)."""

from __future__ import annotations

import functools
import json
from importlib import resources
from typing import Any


@functools.cache
def packaged_json(package: str, path: str) -> Any:
    """``path`` inside ``package`` (``"gpuwise.memory"``, ``"data/overhead.json"``), parsed once.
    Callers share the result: read it, never change it."""
    return json.loads(resources.files(package).joinpath(path).read_text())
