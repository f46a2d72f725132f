"""A YAML writer for the plain mappings an accelerate config holds (no YAML dependency)."""

from __future__ import annotations

import json
import re
from collections.abc import Mapping

Scalar = str | int | float | bool | None

#: Plain strings YAML would read as something else (booleans, null, numbers).
_PLAIN = re.compile(r"[A-Za-z_][A-Za-z0-9_.,/-]*")
_SPECIAL = {"true", "false", "yes", "no", "on", "off", "null", "y", "n", "~"}


def scalar(value: Scalar) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return json.dumps(value)
    if _PLAIN.fullmatch(value) and value.lower() not in _SPECIAL:
        return value
    return json.dumps(value)  # a JSON string is a valid YAML double-quoted scalar


def dump(data: Mapping[str, object], indent: int = 0) -> str:
    """``data`` as block YAML, keys in the order given."""
    lines = []
    pad = "  " * indent
    for key, value in data.items():
        if isinstance(value, Mapping):
            lines.append(f"{pad}{key}:")
            lines.append(dump(value, indent + 1).rstrip("\n"))
        else:
            lines.append(f"{pad}{key}: {scalar(value)}")  # type: ignore[arg-type]
    return "\n".join(lines) + "\n"
