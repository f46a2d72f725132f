"""A YAML writer for the plain mappings an accelerate config holds (no YAML dependency).

Every scalar reads back as the value written, in YAML 1.1 (PyYAML, which accelerate uses) and
1.2: strings that could be read as something else, or that hold anything but printable
characters, are double-quoted with YAML's own escapes; floats always carry a dot; infinities
and NaN are refused.
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping

Scalar = str | int | float | bool | None

#: Strings written bare: nothing YAML would read as a boolean, null or number.
_PLAIN = re.compile(r"[A-Za-z_][A-Za-z0-9_.,/-]*")
_SPECIAL = {"true", "false", "yes", "no", "on", "off", "null", "y", "n", "~"}
_ESCAPES = {"\\": "\\\\", '"': '\\"', "\n": "\\n", "\t": "\\t", "\r": "\\r", "\0": "\\0"}


def quoted(text: str) -> str:
    """``text`` as a YAML double-quoted scalar: printable characters as they are, the rest as
    ``\\xXX`` / ``\\uXXXX`` / ``\\UXXXXXXXX`` escapes (a character beyond the BMP stays one)."""
    out = []
    for c in text:
        if c in _ESCAPES:
            out.append(_ESCAPES[c])
        elif c.isprintable():
            out.append(c)
        else:
            n = ord(c)
            out.append(
                f"\\x{n:02x}" if n < 0x100 else f"\\u{n:04x}" if n < 0x10000 else f"\\U{n:08x}"
            )
    return '"' + "".join(out) + '"'


def _float(value: float) -> str:
    if not math.isfinite(value):
        raise ValueError(f"YAML: refusing the non-finite number {value!r}")
    text = repr(value)
    if "." not in text:  # 1e-05 is a string to YAML 1.1: 1.0e-05
        mantissa, _, exponent = text.partition("e")
        text = f"{mantissa}.0" + (f"e{exponent}" if exponent else "")
    return text


def scalar(value: Scalar) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        return _float(value)
    if not isinstance(value, str):
        raise TypeError(f"YAML: no scalar for {type(value).__name__}")
    if _PLAIN.fullmatch(value) and value.lower() not in _SPECIAL:
        return value
    return quoted(value)


def dump(data: Mapping[str, object], indent: int = 0) -> str:
    """``data`` as block YAML, keys in the order given."""
    lines = []
    pad = "  " * indent
    for key, value in data.items():
        if isinstance(value, Mapping) and value:
            lines.append(f"{pad}{scalar(key)}:")
            lines.append(dump(value, indent + 1).rstrip("\n"))
        elif isinstance(value, Mapping):
            lines.append(f"{pad}{scalar(key)}: {{}}")
        else:
            lines.append(f"{pad}{scalar(key)}: {scalar(value)}")  # type: ignore[arg-type]
    return "\n".join(lines) + "\n"
