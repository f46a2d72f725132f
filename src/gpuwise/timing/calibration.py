"""Calibration of the time model from a saved ``gpuwise bench`` of a card. No torch.

``gpuwise bench`` saves its results as ``<cache>/gpuwise/bench/<card slug>.json`` (``<cache>``
is ``$XDG_CACHE_HOME``, else ``~/.cache``). When a plan times a card that has such a file, the
assumed efficiencies (``data/efficiency.json``) are scaled by what the bench measured on it:

- compute: ``measured matmul TFLOPS / catalogue peak`` for the compute dtype, divided by the
  reference fraction the assumptions were calibrated at (``data/calibration.json``);
- memory-bound work (the optimizer step, decode): the device-copy bandwidth fraction, divided by
  its reference fraction.

A file that cannot be read as a bench is ignored with one warning on stderr per file; the plan
is then timed as if there were none.
"""

from __future__ import annotations

import errno
import functools
import json
import os
import sys

from gpuwise import files
from gpuwise.errors import GpuwiseError
from gpuwise.i18n import Message
from gpuwise.packaged import packaged_json
from gpuwise.record import record

TYPE_CHECKING = False
if TYPE_CHECKING:
    from pathlib import Path
    from typing import Any

#: What the bench writes in its ``kind`` field, to tell its files from anything else.
BENCH_KIND = "gpuwise-bench"
_warned: set[str] = set()


def _folder() -> str | None:
    """``$GPUWISE_BENCH_DIR`` if set, else ``$XDG_CACHE_HOME/gpuwise/bench``, else
    ``~/.cache/gpuwise/bench``; None when there is no home folder to find it in."""
    explicit = os.environ.get("GPUWISE_BENCH_DIR")
    if explicit:
        return explicit
    base = files.user_dir("XDG_CACHE_HOME", ".cache")
    return None if base is None else os.path.join(base, "gpuwise", "bench")


def _file(slug: str) -> str | None:
    folder = _folder()
    return None if folder is None else os.path.join(folder, f"{slug}.json")


def cache_dir() -> Path | None:
    """The folder saved benches live in (see :func:`_folder`), or None."""
    import pathlib

    folder = _folder()
    return None if folder is None else pathlib.Path(folder)


def bench_path(slug: str) -> Path | None:
    """The saved bench of the card ``slug``, or None."""
    import pathlib  # plan looks a card's bench up by name (_file), without pathlib

    path = _file(slug)
    return None if path is None else pathlib.Path(path)


def save_bench(doc: dict[str, Any], slug: str) -> Path:
    """Write ``doc`` to :func:`bench_path` atomically (a temporary file, then a rename)."""
    path = bench_path(slug)
    if path is None:
        raise OSError(errno.ENOENT, "no home folder: set GPUWISE_BENCH_DIR or XDG_CACHE_HOME")
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    tmp.write_text(json.dumps(doc, indent=2) + "\n", encoding="utf-8")
    os.replace(tmp, path)
    return path


@record
class Calibration:
    """Measured fractions of a card's catalogue figures, from one saved bench."""

    slug: str
    date: str
    matmul_fraction: dict[str, float]
    bandwidth_fraction: float | None

    def compute_factor(self, dtype: str) -> float | None:
        """Scale for compute efficiencies at ``dtype`` (None: the bench has no figure)."""
        frac = self.matmul_fraction.get(dtype)
        if frac is None:
            return None
        return frac / _reference("reference_matmul_fraction")

    def bandwidth_factor(self) -> float | None:
        if self.bandwidth_fraction is None:
            return None
        return self.bandwidth_fraction / _reference("reference_bandwidth_fraction")

    def note(self, dtype: str) -> Message:
        c, b = self.compute_factor(dtype), self.bandwidth_factor()
        compute = None if c is None else Message("timing.cal.compute", dtype=dtype, x=f"{c:.2f}")
        bandwidth = None if b is None else Message("timing.cal.bandwidth", x=f"{b:.2f}")
        if compute is not None and bandwidth is not None:
            used = Message("timing.cal.both", compute=compute, bandwidth=bandwidth)
        else:
            used = compute or bandwidth or Message("timing.cal.nothing")
        return Message("timing.cal.note", date=self.date, used=used, file=_file(self.slug))


def _reference(key: str) -> float:
    return float(_references()[key]["value"])


@functools.lru_cache(maxsize=1)
def _references() -> dict[str, Any]:
    data: dict[str, Any] = packaged_json("gpuwise.timing", "data/calibration.json")
    return data


class listed_once:
    """``with listed_once():`` a search over many cards lists the bench folder once, and a card
    with no file in it is known to have no calibration without looking for one. Outside the
    block (or when the folder cannot be listed) every card is looked up."""

    def __enter__(self) -> None:
        global _listing
        folder = _folder()
        try:
            _listing = frozenset(os.listdir(folder)) if folder else frozenset()
        except FileNotFoundError:
            _listing = frozenset()
        except OSError:  # unreadable but perhaps searchable: look each card up
            _listing = None

    def __exit__(self, *exc: object) -> None:
        global _listing
        _listing = None


#: The bench folder's file names, inside :class:`listed_once` (None: look each card up).
_listing: frozenset[str] | None = None


def calibration_for(slug: str) -> Calibration | None:
    """The calibration saved for the card ``slug``, or None (no file, or an unreadable one:
    a warning then). The file is read through :mod:`gpuwise.files`: a regular file of at most
    ``LIMITS["bench"]`` bytes, never a FIFO or a device."""
    if _listing is not None and f"{slug}.json" not in _listing:
        return None
    path = _file(slug)
    if path is None:
        return None
    try:
        data = files.read_bytes(path, path, _EXPECTED, files.LIMITS["bench"], absent_ok=True)
    except GpuwiseError as e:
        _warn(path, Message("timing.cal.ignoring", error=e.text()))
        return None
    return None if data is None else _load(data, path, slug)


_EXPECTED = Message("timing.cal.expected")


def _warn(path: str, message: Message) -> None:
    if path not in _warned:
        _warned.add(path)
        from gpuwise.visible import visible  # the path or its text may hold escapes

        print(Message("timing.cal.warning", message=visible(str(message))), file=sys.stderr)


@functools.lru_cache(maxsize=64)
def _load(data: bytes, path: str, slug: str) -> Calibration | None:
    """The calibration in the bytes of a saved bench (cached by content)."""
    try:
        doc = files.parse_json(files.decode(data, path, _EXPECTED), path, _EXPECTED)
    except GpuwiseError as e:
        _warn(path, Message("timing.cal.ignoring", error=e.text()))
        return None
    if isinstance(doc, dict) and doc.get("quick") is True:
        return None  # seconds of small products: not a measure of the card to plan with
    try:
        return parse(doc, slug)
    except (ValueError, KeyError, TypeError, AttributeError) as e:
        _warn(path, Message("timing.cal.unreadable", path=path, error=str(e)))
        return None


def parse(doc: Any, slug: str) -> Calibration:
    """A Calibration from a bench document; ValueError if it is not one for ``slug``."""
    if not isinstance(doc, dict) or doc.get("kind") != BENCH_KIND:
        raise ValueError(Message("timing.cal.bad_kind", kind=repr(BENCH_KIND)))
    if doc.get("device") != "cuda" or (doc.get("card") or {}).get("slug") != slug:
        raise ValueError(Message("timing.cal.other_card", slug=slug))
    fractions = {}
    for row in doc["matmul"]:
        frac = row.get("fraction_of_spec")
        if frac is not None:
            fractions[str(row["dtype"])] = _positive(frac, f"matmul {row['dtype']}")
    bandwidth = None
    for row in doc["bandwidth"]:
        if row["kind"] == "device copy" and row.get("fraction_of_spec") is not None:
            bandwidth = _positive(row["fraction_of_spec"], "device copy")
    date = doc["date"]
    if not isinstance(date, str) or not date.isprintable() or not 0 < len(date) <= 40:
        raise ValueError(Message("timing.cal.bad_date"))
    return Calibration(slug, date, fractions, bandwidth)


#: A measured fraction of a catalogue figure: above this floor (a subnormal one would scale
#: the plan's rates to nothing and its times to infinity), below 10x the catalogue.
_FRACTION = (0.001, 10.0)


def _positive(value: Any, what: str) -> float:
    low, high = _FRACTION
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not low <= value < high:
        raise ValueError(Message("timing.cal.bad_fraction", what=what, value=repr(value)))
    return float(value)
