"""Feature rules: what a card supports, from its compute capability (data/features.json)."""

from __future__ import annotations

import functools

from gpuwise.packaged import packaged_json
from gpuwise.record import record

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any


@record
class FeatureRule:
    """One feature and the conditions under which a card has it."""

    id: str
    label: str
    source: dict[str, str | None]
    min_cc: tuple[int, int] | None = None
    cc_in: tuple[tuple[int, int], ...] = ()
    requires: str | None = None
    not_series: tuple[str, ...] = ()

    def applies(self, cc: tuple[int, int], card_fields: dict[str, Any]) -> bool:
        if self.min_cc is not None and cc < self.min_cc:
            return False
        if self.cc_in and cc not in self.cc_in:
            return False
        if card_fields.get("series") in self.not_series:
            return False
        return not (self.requires is not None and card_fields.get(self.requires) is None)


def parse_cc(text: str) -> tuple[int, int]:
    major, minor = text.split(".")
    return int(major), int(minor)


@functools.lru_cache(maxsize=1)
def feature_rules() -> tuple[FeatureRule, ...]:
    """The rules in data/features.json, in file order."""
    raw = packaged_json("gpuwise.catalog", "data/features.json")
    sources = raw["sources"]
    return tuple(
        FeatureRule(
            id=r["id"],
            label=r["label"],
            source=sources[r["source"]],
            min_cc=parse_cc(r["min_cc"]) if "min_cc" in r else None,
            cc_in=tuple(parse_cc(c) for c in r.get("cc_in", ())),
            requires=r.get("requires"),
            not_series=tuple(r.get("not_series", ())),
        )
        for r in raw["features"]
    )


def features_of(cc: tuple[int, int], card_fields: dict[str, Any]) -> tuple[str, ...]:
    """Feature ids a card with this CC and these fields has."""
    series = card_fields.get("series")
    given = tuple(card_fields.get(f) is not None for f in _required_fields())
    return _features(cc, series, given)


@functools.lru_cache(maxsize=1)
def _required_fields() -> tuple[str, ...]:
    """The card fields some rule requires (a card's features depend on no others)."""
    return tuple(sorted({r.requires for r in feature_rules() if r.requires is not None}))


@functools.lru_cache(maxsize=512)
def _features(cc: tuple[int, int], series: str | None, given: tuple[bool, ...]) -> tuple[str, ...]:
    """The features of every card alike in what the rules read (thousands of cards share a
    few dozen of these)."""
    fields: dict[str, Any] = {
        f: True if has else None for f, has in zip(_required_fields(), given, strict=True)
    }
    fields["series"] = series
    return tuple(r.id for r in feature_rules() if r.applies(cc, fields))


def feature_ids() -> tuple[str, ...]:
    return tuple(r.id for r in feature_rules())
