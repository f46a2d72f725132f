"""Checks of text said in a language, for every command's tests to reuse: what English is left
in a Chinese answer, and whether a table's columns line up in terminal cells.

``leftover_english(text, names)`` is the words of ``text`` that are English prose: what is
left once the caller's ``names`` (what came from data: card and model names, source titles, the
user's own input), quoted text (what a user types), commands in backticks, URLs and paths,
flags, identifiers (with ``_ . / $ ~`` or digits), abbreviations in capitals and the words the
glossary keeps in English (docs/i18n-glossary.md) are taken out.
"""

from __future__ import annotations

import functools
import re
from pathlib import Path

from gpuwise.i18n.width import cells

ROOT = Path(__file__).resolve().parents[2]
GLOSSARY = ROOT / "docs" / "i18n-glossary.md"

_ESCAPE = re.compile(r"\\\w+")
_URL = re.compile(r"<?https?://[^\s>）)]+>?")
_BACKTICKS = re.compile(r"`[^`\n]*`")
_QUOTED = re.compile(r"'[^'\n]*'|\"[^\"\n]*\"|“[^”\n]*”")
_FLAG = re.compile(r"(?<![\w-])--?[A-Za-z][\w-]*")
_WORD = re.compile(r"[A-Za-z][A-Za-z0-9_./$~+-]*")


@functools.cache
def glossary() -> tuple[list[tuple[str, str, str]], frozenset[str]]:
    """(terms: English, Chinese, where it means something else), and the words kept in
    English, as docs/i18n-glossary.md lists them."""
    text = GLOSSARY.read_text(encoding="utf-8")
    terms_part, kept_part = text.split("## Kept in English")
    terms = []
    for line in terms_part.splitlines():
        cols = [c.strip() for c in line.strip().strip("|").split("|")]
        if line.startswith("|") and len(cols) == 3 and cols[0] not in ("English", "---"):
            terms.append((cols[0], cols[1], cols[2]))
    kept = frozenset(re.findall(r"`([^`]+)`", kept_part))
    return terms, kept


def leftover_english(text: str, names: tuple[str, ...] | list[str] = ()) -> list[str]:
    """The English words of ``text`` that no allowance explains (see the module's doc); a
    word of one of ``names`` is allowed wherever it stands (a table may fold a name)."""
    allowed = {w.rstrip(".-+/") for name in names for w in _WORD.findall(name)}
    allowed |= {part for name in names for part in re.split(r"[^A-Za-z]+", name) if part}
    for pattern in (_URL, _BACKTICKS, _QUOTED, _FLAG, _ESCAPE):
        text = pattern.sub(" ", text)
    kept = glossary()[1]
    left = []
    for word in _WORD.findall(text):
        bare = word.rstrip(".-+/")
        if any(c in bare for c in "_./$~") or any(c.isdigit() for c in bare):
            continue  # an identifier, a path, a version, a figure with its unit
        if len(bare) <= 1 or bare.isupper() or bare in kept or bare in allowed:
            continue
        if word.endswith("...") and any(a.startswith(bare) for a in allowed):
            continue  # a value cut short for the error line
        if "-" in bare and all(part in kept or part.isupper() for part in bare.split("-")):
            continue
        left.append(word)
    return left


def table_lines_aligned(text: str) -> list[str]:
    """The problems with the box tables in ``text``: every line of a table takes the same
    number of terminal cells, and its column borders stand at the same cells on every row.
    Empty when all line up."""
    problems = []
    for block in _tables(text):
        widths = {cells(line) for line in block}
        if len(widths) > 1:
            problems.append(f"lines of {sorted(widths)} cells in\n" + "\n".join(block))
        borders = {tuple(_border_cells(line)) for line in block}
        if len(borders) > 1:
            problems.append("column borders move in\n" + "\n".join(block))
    return problems


_BOX = set("┏┃┡│└┗┣┠╇┳┻╋┼├┬┴┌┐┘┤╭╰")


def _tables(text: str) -> list[list[str]]:
    """The runs of lines drawn with box characters (one table each)."""
    blocks: list[list[str]] = []
    current: list[str] = []
    for line in text.splitlines():
        stripped = line.strip()
        if stripped and stripped[0] in _BOX:
            current.append(stripped)
        elif current:
            blocks.append(current)
            current = []
    if current:
        blocks.append(current)
    return blocks


def _border_cells(line: str) -> list[int]:
    """The cell offsets of a line's vertical borders (and junctions)."""
    out, at = [], 0
    for char in line:
        if char in "┃│┏┓┗┛┡┩╇┳┻┯┷┼├┤┬┴┌┐└┘":
            out.append(at)
        at += cells(char)
    return out
