"""config.json of a model in the local ModelScope cache, as ``modelscope``'s
``snapshot_download`` lays it out.

ModelScope keeps one copy of a model's files in a plain folder (no snapshots, no links to
blobs), ``<root>/<owner>/<name>/config.json``, where ``<name>`` has every ``.`` written as
``___`` (``Qwen2.5-7B`` -> ``Qwen2___5-7B``; since May 2024; newer versions also link the dotted
name to it). Where ``<root>`` is changed in January 2025 (modelscope 1.23):

- new layout: ``$MODELSCOPE_CACHE/models``, else ``~/.cache/modelscope/hub/models``;
- old layout: ``$MODELSCOPE_CACHE/hub`` (``$MODELSCOPE_CACHE`` itself when it ends in ``hub``),
  else ``~/.cache/modelscope/hub``.

Both are looked in, new first, each with the masked and the dotted name. A config is read only
when its real path (links followed) is inside the cache folder it was found in.
"""

from __future__ import annotations

import os

from gpuwise import files
from gpuwise.models.paths import exists, is_inside


def modelscope_cache_dirs() -> list[str]:
    """The cache folder ModelScope uses (``$MODELSCOPE_CACHE``, else
    ``~/.cache/modelscope/hub``), or none without a home folder."""
    explicit = os.environ.get("MODELSCOPE_CACHE")
    if explicit:
        return [os.path.expanduser(explicit)]
    home = files.home()
    return [] if home is None else [os.path.join(home, ".cache", "modelscope", "hub")]


def model_roots(cache: str) -> list[str]:
    """The folders holding ``<owner>/<name>`` in ``cache``: the new layout's, then the old's."""
    stripped = cache.rstrip("/" + os.sep) or cache
    legacy = stripped if os.path.basename(stripped) == "hub" else os.path.join(stripped, "hub")
    return [os.path.join(stripped, "models"), legacy]


def candidates(org: str, name: str) -> list[tuple[str, str]]:
    """``(cache folder, config.json path)`` for each place ``org/name`` may be, in order."""
    names = [name.replace(".", "___")]
    if "." in name:
        names.append(name)
    found = []
    for cache in modelscope_cache_dirs():
        for root in model_roots(cache):
            found += [(cache, os.path.join(root, org, n, "config.json")) for n in names]
    return found


def find_in_modelscope_cache(org: str, name: str) -> str | None:
    """The config.json of ``org/name`` in the ModelScope cache (something there whose real path
    is inside the cache: reading it, through :mod:`gpuwise.files`, refuses what is not a
    regular file), or None. ``org`` and ``name`` are the parts of a checked id
    (:func:`gpuwise.models.hub_id.hub_id_parts`)."""
    for cache, path in candidates(org, name):
        if exists(path) and is_inside(path, cache):
            return path
    return None
