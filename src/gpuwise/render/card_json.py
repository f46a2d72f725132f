"""Cards -> JSON documents (``gpuwise gpus`` / ``gpu``; the README's "JSON output" section).

Card documents carry ``catalog_date``; bytes are integers.
"""

from __future__ import annotations

from gpuwise.catalog import Card, Catalog, usable_memory
from gpuwise.catalog.card import FIGURE_FIELDS
from gpuwise.render.document import envelope

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

CARD_KEYS = (
    "name",
    "slug",
    "series",
    "segment",
    "architecture",
    "chip",
    "compute_capability",
    *FIGURE_FIELDS,
    "memory_type",
    "launch_date",
    "modified",
    "modified_from",
    "features",
    "origin",
)


def card_dict(card: Card, with_sources: bool = False) -> dict[str, Any]:
    """One card: its catalogue fields, ``features`` and PyTorch-visible memory."""
    out: dict[str, Any] = {k: getattr(card, k) for k in CARD_KEYS}
    out["features"] = list(card.features)
    usable = usable_memory(card)
    out["usable_memory_bytes"] = usable.bytes
    out["usable_memory_measured"] = usable.measured
    if with_sources:
        out["aliases"] = list(card.aliases)
        out["notes"] = card.notes
        out["sources"] = dict(card.sources)
    return out


def cards_doc(catalog: Catalog, cards: list[Card]) -> dict[str, Any]:
    return envelope(
        catalog_date=catalog.date, count=len(cards), cards=[card_dict(c) for c in cards]
    )


def card_doc(catalog: Catalog, card: Card) -> dict[str, Any]:
    return envelope(catalog_date=catalog.date, **card_dict(card, with_sources=True))
