"""The card catalogue: packaged card files, feature rules, the user's own cards, name lookup."""

from __future__ import annotations

import functools
import re
from collections.abc import Iterator

from gpuwise.catalog.card import Card
from gpuwise.catalog.load import load_cards, user_catalog_path
from gpuwise.catalog.names import NameIndex
from gpuwise.errors import GpuwiseError
from gpuwise.i18n import Message
from gpuwise.packaged import packaged_json
from gpuwise.record import record
from gpuwise.units import MIB

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

__all__ = ["Card", "Catalog", "keep_loaded", "load_catalog", "of_series", "usable_memory"]

#: Catalogues kept between calls by a process that answers many (`gpuwise serve`, while
#: :func:`keep_loaded` is on): (user file, its size, time and inode) -> catalogue with its
#: name index. Off, each call loads (the command line loads once).
_kept: dict[tuple[str | None, tuple[int, ...] | None], Catalog] = {}
_keeping = False


@functools.lru_cache(maxsize=1)
def catalog_meta() -> dict[str, Any]:
    meta: dict[str, Any] = packaged_json("gpuwise.catalog", "data/catalog.json")
    return meta


@record
class UsableMemory:
    """What PyTorch can see on a card, and whether it was measured or estimated."""

    bytes: int
    measured: bool
    how: Message


def usable_memory(card: Card) -> UsableMemory:
    """``torch.cuda.get_device_properties().total_memory`` of the card: the printout where the
    catalogue has one, else the fitted estimate from data/catalog.json (said so in ``how``)."""
    if card.pytorch_total_memory_mib is not None:
        return UsableMemory(
            card.pytorch_total_memory_mib * MIB,
            True,
            Message("catalog.usable.measured"),
        )
    est = catalog_meta()["usable_memory_estimate"]
    total_mib = card.memory_gb * 1024
    reserve_mib = max(est["min_reserve_mib"], est["reserve_fraction"] * total_mib)
    return UsableMemory(
        int((total_mib - reserve_mib) * MIB),
        False,
        Message(
            "catalog.usable.estimated", memory=f"{card.memory_gb:g}", reserve=f"{reserve_mib:.0f}"
        ),
    )


class Catalog:
    """Every known card, looked up by forgiving names."""

    def __init__(self, cards: list[Card], user_file: str | None = None) -> None:
        self.cards = cards
        self.user_file = user_file
        self.date: str = catalog_meta()["catalog_date"]
        self._names: NameIndex | None = None

    @property
    def _index(self) -> NameIndex:
        """The names, indexed on the first lookup (a search over every card never needs it)."""
        if self._names is None:
            self._names = NameIndex(self.cards)
        return self._names

    def __iter__(self) -> Iterator[Card]:
        return iter(self.cards)

    def __len__(self) -> int:
        return len(self.cards)

    def find(self, name: str) -> Card:
        """The card ``name`` names ("3090", "rtx 4060 ti 16gb", "4090d"), or GpuwiseError."""
        return self._index.find(name)

    def closest(self, name: str, n: int = 5) -> list[str]:
        return self._index.closest(name, n)

    def for_device(self, device_name: str, total_memory_bytes: int | None = None) -> Card | None:
        """The card a CUDA device is ("NVIDIA GeForce RTX 3060" with its total memory), or
        None. The name alone can fit several memory variants (RTX 3060 12 GB and 8 GB, RTX 3080
        10 and 12 GB, 4060 Ti 8 and 16 GB); the memory the device reports picks among them."""
        base = _bare(device_name)
        found = [
            c
            for c in self._index.candidates(device_name)
            if _MEMORY_SUFFIX.fullmatch(_bare(c.name).removeprefix(base))
            and _bare(c.name).startswith(base)
        ]
        if total_memory_bytes is not None and len(found) > 1:
            # the variant whose memory as sold is closest above what the device reports
            found.sort(key=lambda c: abs(c.memory_bytes - total_memory_bytes))
            return found[0]
        if len(found) == 1:
            return found[0]
        try:
            return self.find(device_name)
        except GpuwiseError:
            return None


#: What may follow a device's name in a catalogue name of the same card: a memory size only
#: ("RTX 3060" -> "RTX 3060 8 GB"), never a model ("RTX 3060 Ti", "RTX 4090 D").
_MEMORY_SUFFIX = re.compile(r"(\s*\d+\s*gb)?")


def _bare(name: str) -> str:
    words = [w for w in name.lower().replace("-", " ").split() if w not in ("nvidia", "geforce")]
    return " ".join(words)


def load_catalog(user_file: str | None = None) -> Catalog:
    """The packaged catalogue plus the user's card file (``--catalog``, ``$GPUWISE_CATALOG``,
    or ``~/.config/gpuwise/cards.json``)."""
    path = user_catalog_path(user_file)
    if not _keeping:
        return Catalog(load_cards(path), path)
    key = (path, _stamp(path))
    found = _kept.get(key)
    if found is None:
        if len(_kept) >= 8:
            _kept.clear()
        found = _kept[key] = Catalog(load_cards(path), path)
    return found


def keep_loaded(on: bool = True) -> bool:
    """While on, keep each catalogue loaded (cards and name index) for the next calls, read
    again when its user file changes: the same card objects each time, so that the caches of
    plans and searches keyed by them find them by identity. Returns whether it was on."""
    global _keeping
    before, _keeping = _keeping, on
    return before


def _stamp(path: str | None) -> tuple[int, ...] | None:
    """A user file's size, times and inode (None: no file, or none readable)."""
    import os

    if path is None:
        return None
    try:
        st = os.stat(path)
    except (OSError, ValueError):
        return None
    return st.st_size, st.st_mtime_ns, st.st_ctime_ns, st.st_ino


def of_series(cards: list[Card], series: list[str]) -> list[Card]:
    """The cards whose series contains one of ``series`` (case-insensitive), or a one-line
    error naming the series there are (or saying that an empty one names none)."""
    if not all(s.strip() for s in series):
        raise GpuwiseError(Message("catalog.empty_series"))
    wanted = [s.lower() for s in series]
    out = [c for c in cards if any(w in c.series.lower() for w in wanted)]
    if not out:
        known = sorted({c.series for c in cards})
        raise GpuwiseError(
            Message("catalog.no_series", asked=", ".join(series), known=", ".join(known))
        )
    return out
