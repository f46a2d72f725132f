"""Text from outside gpuwise, made harmless for a terminal.

Card names, notes, price notes, file names and what nvidia-smi or torch print can hold
characters a terminal acts on instead of showing: C0 and C1 controls (ESC starts a sequence that
can clear the screen or retitle the window, BEL rings), DEL, format characters such as the
right-to-left override U+202E (the text after it is shown reversed), line and paragraph
separators, and lone surrogates (from file names that are not UTF-8; printing one is an error).
Each is replaced by the escape Python writes for it (``\\x1b``, ``\\u202e``), so the user still
sees that it is there. Everything else, CJK and emoji included, passes unchanged.

No rich here: the error line in :mod:`gpuwise.cli.main` uses this too.
"""

from __future__ import annotations

import json
import re
import unicodedata

#: Unicode categories a terminal does not simply show: controls (Cc: C0, DEL, C1), format
#: characters (Cf: bidi overrides, zero-width characters), surrogates (Cs), line and
#: paragraph separators (Zl, Zp).
UNSAFE_CATEGORIES = frozenset({"Cc", "Cf", "Cs", "Zl", "Zp"})

# Every character that may be unsafe is outside printable ASCII; only those are looked up.
_OUTSIDE_ASCII = re.compile(r"[^\x20-\x7e]")
# In JSON text the encoder has already escaped C0 controls; DEL is ASCII it leaves alone.
_OUTSIDE_JSON_SAFE = re.compile(r"[^\x00-\x7e]")


def unsafe(char: str) -> bool:
    """Whether a terminal may act on ``char`` instead of showing it."""
    return unicodedata.category(char) in UNSAFE_CATEGORIES


def visible(text: str, *, keep: str = "") -> str:
    """``text`` with every unsafe character (but those in ``keep``, e.g. ``"\\n"``) written as
    Python writes it in a string literal: ESC as ``\\x1b``, U+202E as ``\\u202e``."""
    if text.isprintable():
        return text

    def escape(match: re.Match[str]) -> str:
        char = match.group()
        if char in keep or not unsafe(char):
            return char
        return repr(char)[1:-1]

    return _OUTSIDE_ASCII.sub(escape, text)


def visible_json(text: str) -> str:
    """JSON text (as ``json.dumps(..., ensure_ascii=False)`` writes it) with every unsafe
    character that the encoder left raw written as a ``\\uXXXX`` escape. Those characters occur
    only inside strings, where the escape means the same character: the document is unchanged."""
    if text.isascii() and "\x7f" not in text:
        return text

    def escape(match: re.Match[str]) -> str:
        char = match.group()
        return json.dumps(char)[1:-1] if unsafe(char) else char

    return _OUTSIDE_JSON_SAFE.sub(escape, text)
