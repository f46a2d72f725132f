"""Forgiving card names: "3090", "rtx 4060 ti 16gb", "4090d", "NVIDIA GeForce RTX 3090".

A name is normalised (lower case; "nvidia", "geforce", "tesla", spaces, hyphens and underscores
dropped; "16 gb" == "16gb"), then looked up among every card's slug, name and aliases, with and
without its "rtx"/"gtx" prefix. A name that is the start of several cards' names ("4060 ti") is
ambiguous and the error lists them; an unknown name lists the closest matches.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

from gpuwise.catalog.card import Card
from gpuwise.errors import GpuwiseError

_DROP = re.compile(r"\b(nvidia|geforce|tesla)\b")
_JUNK = re.compile(r"[\s\-_/]+")
_PREFIX = re.compile(r"^(rtx|gtx)")


def normalise(name: str) -> str:
    text = _DROP.sub(" ", name.lower())
    return _JUNK.sub("", text).replace("gib", "gb")


def _keys(name: str) -> set[str]:
    n = normalise(name)
    return {n, _PREFIX.sub("", n)} - {""}


class NameIndex:
    """Maps every normalised name key to the cards it names."""

    def __init__(self, cards: Iterable[Card]) -> None:
        self.cards = list(cards)
        self.exact: dict[str, list[Card]] = {}
        for card in self.cards:
            for raw in (card.slug, card.name, *card.aliases):
                for key in _keys(raw):
                    bucket = self.exact.setdefault(key, [])
                    if all(c.slug != card.slug for c in bucket):
                        bucket.append(card)

    def find(self, name: str) -> Card:
        """The one card ``name`` names, or a GpuwiseError saying why not."""
        if not name or not name.strip():
            raise GpuwiseError(
                "empty card name; give one like '3090' or 'rtx 4060 ti 16gb' "
                "(`gpuwise gpus` lists them)"
            )
        keys = _keys(name)
        hits = _unique(c for k in keys for c in self.exact.get(k, ()))
        if len(hits) == 1:
            return hits[0]
        if not hits:
            hits = _unique(
                c for k in keys for key, cs in self.exact.items() if key.startswith(k) for c in cs
            )
            if len(hits) == 1:
                return hits[0]
        if hits:
            names = ", ".join(c.name for c in hits[:8])
            raise GpuwiseError(
                f"card name '{_short(name)}' is ambiguous: it matches {names}; name one of them"
            )
        raise GpuwiseError(
            f"unknown card '{_short(name)}'; closest: {', '.join(self.closest(name))} "
            f"(`gpuwise gpus` lists every card)",
            code="unknown_card",
        )

    def candidates(self, name: str) -> list[Card]:
        """Every card ``name`` could denote: exact names and names it begins (the memory
        variants of "RTX 3060")."""
        keys = _keys(name)
        exact = [c for k in keys for c in self.exact.get(k, ())]
        prefix = [
            c for k in keys for key, cs in self.exact.items() if key.startswith(k) for c in cs
        ]
        return _unique([*exact, *prefix])

    def closest(self, name: str, n: int = 5) -> list[str]:
        """Display names of the ``n`` cards whose names look most like ``name``."""
        target = normalise(name)
        by_key = {k: cs[0].name for k, cs in self.exact.items()}
        import difflib  # only for a name that matches no card

        matches = difflib.get_close_matches(target, list(by_key), n=n * 3, cutoff=0.3)
        out: list[str] = []
        for key in matches:
            if by_key[key] not in out:
                out.append(by_key[key])
        return out[:n] or [c.name for c in self.cards[:n]]


def _short(name: str, limit: int = 80) -> str:
    """``name`` for an error line: a 5,000-character name is cut, with its length said."""
    return name if len(name) <= limit else f"{name[:limit]}... ({len(name)} characters)"


def _unique(cards: Iterable[Card]) -> list[Card]:
    seen: dict[str, Card] = {}
    for card in cards:
        seen.setdefault(card.slug, card)
    return list(seen.values())
