"""Forgiving card names: "3090", "rtx 4060 ti 16gb", "4090d", "NVIDIA GeForce RTX 3090".

A name is normalised (lower case; "nvidia", "geforce", "tesla", "quadro", spaces, hyphens and
underscores dropped; "16 gb" == "16gb"), then looked up among every card's slug, name and
aliases, with and without its "rtx"/"gtx" prefix. A name no card has exactly may still name
the variants of one model: it is read as words and numbers ("A800" is "a", "800") and matched
against the cards whose names begin with those words and go on only with a variant's words (a
memory size, a form factor: "A800 PCIe 40 GB", "A800 SXM4 80 GB"). Several such cards make the
name ambiguous and the error lists them. A number is never lengthened and a model word never
added: "h20" is not the H200, "l2" not the L20, "rtx 4000" not the RTX 4000 Ada, "l40" not the
L40S. An unknown name lists the closest matches.

A name may end in the card's memory as people write it ("3090 24GB", "L40S 48GB", "3060 8gb",
"2080 Ti 22G"): when the whole name names no card, the memory is taken off, the rest names a
model, and the memory picks its variant ("3060 8GB" is the 8 GB RTX 3060). A memory no variant
has ("4090 12GB") is an error naming the variants and their memory.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

from gpuwise.catalog.card import Card
from gpuwise.errors import GpuwiseError
from gpuwise.i18n import Message, cut

_DROP = re.compile(r"\b(nvidia|geforce|tesla|quadro)\b")
_JUNK = re.compile(r"[\s\-_/]+")
_WORD = re.compile(r"[a-z]+|\d+")
#: A memory size at the end of a name: "24GB", "24 gb", "22G", "11.5 GiB".
_MEMORY = re.compile(r"^(.*?\S)[\s\-_]+(\d{1,4}(?:\.\d{1,2})?)\s*(?:gb|gib|g)\s*$", re.IGNORECASE)
#: How far a typed memory may be from a card's ``memory_gb`` (cards are sold in whole GB).
_MEMORY_SLACK = 0.5
#: Words that name a variant of a model, not another model: what may follow a typed name in a
#: card's name for the card to be one of its variants ("A100 SXM4 80 GB", "H200 NVL", "RTX PRO
#: 6000 Blackwell Server Edition" after "rtx pro 6000 blackwell"); numbers may follow too.
#: A model word ("Ti", "SUPER", "D", "S", "Ada") makes another card.
_VARIANT_WORDS = frozenset(
    {"gb", "pcie", "sxm", "nvl", "hbm", "e", "gddr", "workstation", "server", "edition"}
)


def normalise(name: str) -> str:
    text = name.lower()
    # most names have none of the words _DROP takes out
    if "nvidia" in text or "geforce" in text or "tesla" in text or "quadro" in text:
        text = _DROP.sub(" ", text)
    return _JUNK.sub("", text).replace("gib", "gb")


def _keys(name: str) -> set[str]:
    n = normalise(name)
    return {n, n[3:] if n.startswith(("rtx", "gtx")) else n} - {""}


def words(name: str) -> tuple[str, ...]:
    """``name`` as the words and numbers it is made of: "NVIDIA RTX A6000" -> rtx, a, 6000."""
    return tuple(_WORD.findall(_DROP.sub(" ", name.lower()).replace("gib", "gb")))


def _forms(name: str) -> set[tuple[str, ...]]:
    """The word sequences ``name`` stands for: as written, and without "rtx"/"gtx"."""
    w = words(name)
    forms = {w, w[1:] if w and w[0] in ("rtx", "gtx") else w}
    return {f for f in forms if f}


def _variant_only(rest: tuple[str, ...]) -> bool:
    return all(word.isdigit() or word in _VARIANT_WORDS for word in rest)


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
        self._words: list[tuple[tuple[str, ...], Card]] | None = None

    def _word_table(self) -> list[tuple[tuple[str, ...], Card]]:
        """Every name of every card as words, built on the first name no card has exactly."""
        if self._words is None:
            self._words = [
                (form, card)
                for card in self.cards
                for raw in (card.slug, card.name, *card.aliases)
                for form in _forms(raw)
            ]
        return self._words

    def _exact(self, name: str) -> list[Card]:
        return _unique(c for k in _keys(name) for c in self.exact.get(k, ()))

    def _variants(self, name: str) -> list[Card]:
        """The cards whose names begin with ``name``'s words and go on only with a variant's
        words (memory sizes, form factors)."""
        typed = _forms(name)
        if not typed:
            return []
        return _unique(
            card
            for form, card in self._word_table()
            for t in typed
            if form[: len(t)] == t and _variant_only(form[len(t) :])
        )

    def find(self, name: str) -> Card:
        """The one card ``name`` names, or a GpuwiseError saying why not."""
        if not name or not name.strip():
            raise GpuwiseError(Message("catalog.empty_card_name"))
        hits = self._exact(name) or self._variants(name) or self._by_memory(name)
        if len(hits) == 1:
            return hits[0]
        if hits:
            names = ", ".join(c.name for c in hits[:8])
            raise GpuwiseError(Message("catalog.ambiguous_card", name=_short(name), matches=names))
        raise GpuwiseError(
            Message(
                "catalog.unknown_card", name=_short(name), closest=", ".join(self.closest(name))
            ),
            code="unknown_card",
        )

    def _by_memory(self, name: str) -> list[Card]:
        """The variant of the model ``name`` names without its memory suffix that has that
        memory ("3090 24GB"); [] when the name has no such suffix or the rest names no card.
        Raises when the model exists but none of its variants has that memory."""
        m = _MEMORY.match(name)
        if not m:
            return []
        base, memory = m.group(1), float(m.group(2))
        exact = self._exact(base)
        models = _unique([*exact, *self._variants(base)])
        # the card the rest names exactly, when it has that memory ("1650 4GB" is the card
        # "1650" names, not also its 4 GB GDDR6 variant); else its variants with that memory
        for group in (exact, models):
            fits = [c for c in group if abs(c.memory_gb - memory) <= _MEMORY_SLACK]
            if fits:
                return fits
        if not models:
            return []
        variants = ", ".join(f"{c.name} ({c.memory_gb:g} GB)" for c in models[:8])
        raise GpuwiseError(
            Message(
                "catalog.no_memory_variant",
                name=_short(name),
                memory=f"{memory:g}",
                variants=variants,
            ),
            code="unknown_card",
        )

    def candidates(self, name: str) -> list[Card]:
        """Every card ``name`` could denote: exact names and the variants of the model it
        names (the memory variants of "RTX 3060")."""
        return _unique([*self._exact(name), *self._variants(name)])

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


def _short(name: str) -> str | Message:
    return cut(name, 80)


def _unique(cards: Iterable[Card]) -> list[Card]:
    seen: dict[str, Card] = {}
    for card in cards:
        seen.setdefault(card.slug, card)
    return list(seen.values())
