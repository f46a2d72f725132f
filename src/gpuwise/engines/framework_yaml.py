"""Block YAML for the frameworks' configs: :mod:`gpuwise.engines.yaml_text`'s scalars, with
lists (of scalars, written in flow style, or of mappings) and comment lines."""

from __future__ import annotations

from collections.abc import Mapping

from gpuwise.engines.yaml_text import Scalar, scalar


def comment(text: str) -> str:
    """``text`` as YAML comment lines (``# ...``), one per line of it."""
    return "".join(f"# {line}".rstrip() + "\n" for line in text.split("\n"))


def dump(data: Mapping[str, object], indent: int = 0) -> str:
    """``data`` as block YAML, keys in the order given."""
    pad = "  " * indent
    lines = []
    for key, value in data.items():
        head = f"{pad}{scalar(key)}:"
        if isinstance(value, Mapping):
            lines.append(head + ("" if value else " {}"))
            if value:
                lines.append(dump(value, indent + 1).rstrip("\n"))
        elif isinstance(value, (list, tuple)) and any(isinstance(v, Mapping) for v in value):
            lines.append(head)
            for item in value:
                block = dump(item, indent + 2).rstrip("\n").split("\n")
                lines.append(f"{pad}  - {block[0].lstrip()}")
                lines.extend(block[1:])
        elif isinstance(value, (list, tuple)):
            lines.append(f"{head} [{', '.join(scalar(v) for v in value)}]")
        else:
            lines.append(f"{head} {scalar(_scalar(value))}")
    return "\n".join(lines) + "\n"


def _scalar(value: object) -> Scalar:
    if value is None or isinstance(value, (str, int, float, bool)):
        return value
    raise TypeError(f"YAML: no scalar for {type(value).__name__}")
