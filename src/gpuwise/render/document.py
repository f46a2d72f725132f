"""The frame of every JSON document gpuwise prints, and the one way it is written.

Every document carries ``schema_version`` and ``gpuwise_version``; keys are stable, and a change
of meaning bumps ``SCHEMA_VERSION``. Cheap to import: an error document must not load the
catalogue or the planning code.
"""

from __future__ import annotations

import json

from gpuwise._version import SCHEMA_VERSION, __version__
from gpuwise.i18n import Message

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any


def envelope(**fields: Any) -> dict[str, Any]:
    return {"schema_version": SCHEMA_VERSION, "gpuwise_version": __version__, **fields}


def _said(value: Any) -> str:
    """What ``json.dumps`` writes for a value it has no form for: a message, said."""
    if isinstance(value, Message):
        return value.render()
    raise TypeError(f"{type(value).__name__} is not JSON: {value!r}")


def dumps(doc: dict[str, Any]) -> str:
    """``doc`` as JSON text. Only finite numbers: a NaN or infinity is a bug in gpuwise, reported
    as one line naming where it is, never written as the invalid ``NaN``. Characters a terminal
    would act on (C1 controls, bidi overrides) are written as ``\\uXXXX`` escapes. A
    :class:`~gpuwise.i18n.Message` (a note, a reason) is written in the language in use."""
    try:
        text = json.dumps(doc, indent=2, ensure_ascii=False, allow_nan=False, default=_said)
    except ValueError:
        import math

        def where(value: Any, path: str) -> str | None:
            """The first non-finite number in ``value``: ``cards[0].time.mfu = nan``."""
            if isinstance(value, float) and not math.isfinite(value):
                return f"{path} = {value}"
            items: list[tuple[str, Any]] = []
            if isinstance(value, dict):
                items = [(f"{path}.{k}" if path else str(k), v) for k, v in value.items()]
            elif isinstance(value, (list, tuple)):
                items = [(f"{path}[{i}]", v) for i, v in enumerate(value)]
            for sub, item in items:
                found = where(item, sub)
                if found:
                    return found
            return None

        found = where(doc, "")
        if found is None:
            raise
        from gpuwise.errors import InternalError

        raise InternalError(Message("cli.not_finite", found=found)) from None
    if text.isascii() and "\x7f" not in text:
        return text  # nothing a terminal acts on (the encoder escaped the C0 controls)
    from gpuwise.visible import visible_json

    return visible_json(text)
