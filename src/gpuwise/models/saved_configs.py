"""The config.json files ``--download`` fetched, kept in gpuwise's cache so that the next run
needs no network: ``$XDG_CACHE_HOME/gpuwise/configs/<source>/<org>/<name>/config.json`` (else
``~/.cache/gpuwise/...``), ``<source>`` being ``huggingface`` or ``modelscope``.

Only checked ids (:func:`gpuwise.models.hub_id.hub_id_parts`) become folder names, and a file is
read or written only where its real path (links followed) is inside that configs folder.
"""

from __future__ import annotations

import os

from gpuwise import files
from gpuwise.errors import GpuwiseError
from gpuwise.i18n import Message
from gpuwise.models.hub_id import SOURCES
from gpuwise.models.paths import exists, is_inside


def configs_dir() -> str | None:
    """gpuwise's folder of saved configs, or None without a home folder or ``$XDG_CACHE_HOME``."""
    cache = files.user_dir("XDG_CACHE_HOME", ".cache")
    return None if cache is None else os.path.join(cache, "gpuwise", "configs")


def saved_path(source: str, org: str, name: str) -> str | None:
    """Where the config of ``org/name`` from ``source`` is kept."""
    base = configs_dir()
    return None if base is None else os.path.join(base, source, org, name, "config.json")


def find_saved(org: str, name: str, first: str = SOURCES[0]) -> tuple[str, str] | None:
    """``(source, path)`` of a saved config of ``org/name`` (``first``'s before the other's)."""
    base = configs_dir()
    if base is None:
        return None
    for source in sorted(SOURCES, key=lambda s: s != first):
        path = saved_path(source, org, name)
        if path is not None and exists(path) and is_inside(path, base):
            return source, path
    return None


def save(source: str, org: str, name: str, data: bytes) -> str:
    """Keep ``data`` as the config of ``org/name`` from ``source`` (a new file renamed into
    place, so a reader never sees half of it); returns its path."""
    base = configs_dir()
    path = saved_path(source, org, name)
    if base is None or path is None:
        raise GpuwiseError(Message("models.no_cache_to_keep"))
    folder = os.path.dirname(path)
    try:
        os.makedirs(folder, exist_ok=True)
        if not is_inside(folder, base):
            raise GpuwiseError(Message("models.cache_outside", folder=folder, base=base))
        import tempfile  # only when a download is kept

        fd, tmp = tempfile.mkstemp(prefix=".config-", suffix=".tmp", dir=folder)
        try:
            with os.fdopen(fd, "wb") as f:
                f.write(data)
            os.replace(tmp, path)
        except BaseException:
            _remove(tmp)
            raise
    except OSError as e:
        raise GpuwiseError(Message("models.cannot_write", path=path, why=files.why(e))) from None
    return path


def _remove(path: str) -> None:
    import contextlib

    with contextlib.suppress(OSError):
        os.unlink(path)
