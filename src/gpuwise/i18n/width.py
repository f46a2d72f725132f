"""Text as a terminal lays it out: a CJK character takes two cells, so a line of Chinese is
wrapped by the cells it fills, never by its length (``textwrap`` counts characters, and a
help text wrapped by it runs twice as wide as the terminal)."""

from __future__ import annotations

import re
import unicodedata

# A wide character alone, or a run of anything else without spaces, or spaces.
_PIECE = re.compile(r"\s+|[^\s]")
#: Characters a line must not begin with (closing punctuation stays with what it closes) and
#: must not end with (opening punctuation stays with what it opens).
_NO_LINE_START = frozenset("，。；：、）」』】》？！,.;:)]}%")
_NO_LINE_END = frozenset("（「『【《([{")


def cells(text: str) -> int:
    """Terminal cells ``text`` takes: two for wide and full-width characters (CJK), none for
    combining marks, one for the rest."""
    total = 0
    for char in text:
        if unicodedata.combining(char):
            continue
        total += 2 if unicodedata.east_asian_width(char) in ("W", "F") else 1
    return total


def _wide(char: str) -> bool:
    return unicodedata.east_asian_width(char) in ("W", "F")


def _pieces(text: str) -> list[str]:
    """``text`` as the pieces a line may break between: runs of spaces, words of narrow
    characters, and each wide character alone, with closing punctuation kept on the piece it
    follows and opening punctuation on the piece it precedes."""
    out: list[str] = []
    opening = ""
    for m in _PIECE.finditer(text):
        piece = m.group()
        if piece.isspace():
            out.append(piece)
            continue
        after_word = bool(out) and not out[-1].isspace() and not opening
        narrow_run = after_word and not _wide(piece) and not _wide(out[-1][-1])
        if narrow_run or (after_word and piece in _NO_LINE_START):
            out[-1] += piece  # a narrow character after a narrow one, or closing punctuation
        elif piece in _NO_LINE_END:
            opening += piece  # goes with what it opens
        else:
            out.append(opening + piece)
            opening = ""
    if opening:
        out.append(opening)
    return out


def wrap(text: str, width: int) -> list[str]:
    """``text`` in lines of at most ``width`` cells (a word longer than a line has a line of
    its own)."""
    lines: list[str] = []
    line, used = "", 0
    for piece in _pieces(" ".join(text.split())):
        if piece.isspace():
            if line:
                line, used = line + " ", used + 1
            continue
        size = cells(piece)
        if line and used + size > width:
            lines.append(line.rstrip())
            line, used = "", 0
        line, used = line + piece, used + size
    if line.strip():
        lines.append(line.rstrip())
    return lines
