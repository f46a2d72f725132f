"""What a user may name a model by, and how each becomes a config dict.

In order: a path to a config.json, a local model folder (holding config.json), a built-in preset
("llama-3.1-8b"), a bare size ("7b", "70B", "1.5b", "350m") with a stated assumed architecture,
or a hub id ("org/name") found in the local Hugging Face cache, the local ModelScope cache or
gpuwise's own saved downloads, else (only when asked: ``download=True``) downloaded, its
config.json alone, and saved. A name that is none of these gets the closest presets.
"""

from __future__ import annotations

import functools
import math
import os
import re
import stat

from gpuwise import files
from gpuwise.errors import GpuwiseError
from gpuwise.i18n import Message, cut
from gpuwise.models.hub_id import LOOKS_LIKE_ID, SOURCES, hub_id_parts
from gpuwise.packaged import packaged_json, packaged_text
from gpuwise.record import field, record

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

    from gpuwise.i18n import Text

_SIZE = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*([bm])\s*$", re.IGNORECASE)
#: Largest config file read: real ones are a few KB.
MAX_CONFIG_BYTES = files.LIMITS["config"]
_EXPECTED = Message("models.expected")
#: A ref file names a snapshot folder: a commit hash, never a path.
_REF = re.compile(r"[0-9A-Za-z_][0-9A-Za-z_.-]{0,254}")


@record
class Resolved:
    """A config dict and how it was found."""

    config: dict[str, Any]
    name: str
    source: Text  # how it was found, said to people: "preset llama-3.1-8b (meta-llama/...)"
    where: Text  # what names it in errors: a path, "preset llama-3.1-8b"
    assumptions: tuple[Text, ...] = field(default=())
    folder: str | None = None  # the model folder holding the config (code runs only from here)


@functools.lru_cache(maxsize=1)
def preset_index() -> dict[str, dict[str, Any]]:
    """The presets' index (presets/index.json): slug -> entry."""
    index: dict[str, dict[str, Any]] = packaged_json("gpuwise.models", "presets/index.json")[
        "presets"
    ]
    return index


def preset_names() -> list[str]:
    return sorted(preset_index())


def _find_preset(name: str) -> str | None:
    key = name.strip().lower()
    index = preset_index()
    if key in index:
        return key
    for slug, entry in index.items():
        if (
            key in (a.lower() for a in entry.get("aliases", ()))
            or key == entry.get("hf_id", "").lower()
        ):
            return slug
    return None


def read_config_file(path: str, where: Text | None = None) -> dict[str, Any]:
    """Parse a config.json (a regular file under :data:`MAX_CONFIG_BYTES`, read once), with
    one-line errors for every way it can be broken."""
    where = where or str(path)
    data = files.read_bytes(path, where, _EXPECTED, MAX_CONFIG_BYTES)
    assert data is not None
    return parse_config_text(files.decode(data, where, _EXPECTED), where)


def parse_config_text(text: str, where: Text) -> dict[str, Any]:
    config = files.parse_json(text, where, _EXPECTED)
    if not isinstance(config, dict):
        raise GpuwiseError(Message("models.not_object", where=where, got=type(config).__name__))
    return config


def hf_cache_dirs() -> list[str]:
    """Where the Hugging Face hub cache may be, as huggingface_hub looks for it (no home
    folder: only the folders the environment names)."""
    dirs = []
    if os.environ.get("HF_HUB_CACHE"):
        dirs.append(os.environ["HF_HUB_CACHE"])
    if os.environ.get("HF_HOME"):
        dirs.append(os.path.join(os.environ["HF_HOME"], "hub"))
    cache = files.user_dir("XDG_CACHE_HOME", ".cache")
    if cache is not None:
        dirs.append(os.path.join(cache, "huggingface", "hub"))
    return dirs


def _mode(path: str) -> int | None:
    """``st_mode`` of what ``path`` points at, or None: nothing there, or a name the system
    cannot look up (over 255 characters, a NUL, a parent that is not a searchable folder)."""
    try:
        return os.stat(path).st_mode
    except (OSError, ValueError):
        return None


def _is_dir(path: str) -> bool:
    mode = _mode(path)
    return mode is not None and stat.S_ISDIR(mode)


def _mtime(path: str) -> int:
    try:
        return os.stat(path).st_mtime_ns
    except (OSError, ValueError):
        return -1


def find_in_hf_cache(hf_id: str) -> str | None:
    """config.json of ``org/name`` in the local HF cache (the snapshot refs/main points at,
    else the newest). Only finds the file: reading it is :func:`read_config_file`'s job."""
    folder_name = "models--" + hf_id.replace("/", "--")
    for cache in hf_cache_dirs():
        repo = os.path.join(cache, folder_name)
        snapshots = os.path.join(repo, "snapshots")
        if not _is_dir(snapshots):
            continue
        ref_path = os.path.join(repo, "refs", "main")
        data = files.read_bytes(
            ref_path,
            ref_path,
            Message("models.expected_ref"),
            files.LIMITS["ref"],
            absent_ok=True,
        )
        if data is not None:
            ref = data.decode("ascii", "replace").strip()
            candidate = os.path.join(snapshots, ref, "config.json")
            if _REF.fullmatch(ref) and _mode(candidate) is not None:
                return candidate
        found = sorted(_snapshot_configs(snapshots), key=_mtime)
        if found:
            return found[-1]
    return None


def _snapshot_configs(snapshots: str) -> list[str]:
    """Every ``<snapshot>/config.json`` in a cache's snapshots folder."""
    try:
        names = os.listdir(snapshots)
    except (OSError, ValueError):
        return []
    configs = (os.path.join(snapshots, n, "config.json") for n in names if not n.startswith("."))
    return [c for c in configs if _mode(c) is not None]


def _folder_name(path: str) -> str:
    """The last part of a folder's path as the user wrote it (``models/llama/`` -> ``llama``),
    or the folder's own name for ``.``."""
    name = os.path.basename(os.path.normpath(path))
    return name if name not in ("", ".", "..") else os.path.basename(os.path.abspath(path))


def resolve(name: str, *, download: bool = False, source: str = "huggingface") -> Resolved:
    """Find the config that ``name`` stands for; ``download``: fetch a hub id's config.json
    from ``source`` ("huggingface" or "modelscope") when no local copy has it."""
    if source not in SOURCES:
        raise GpuwiseError(
            Message("models.bad_source", source=repr(source), sources=", ".join(SOURCES))
        )
    if not isinstance(name, str) or not name.strip():
        raise GpuwiseError(Message("models.empty_name"))
    path = os.path.expanduser(name)  # unchanged when there is no home folder
    mode = _mode(path)
    if mode is not None and stat.S_ISDIR(mode):
        config_path = os.path.join(path, "config.json")
        if _mode(config_path) is None:
            raise GpuwiseError(Message("models.folder_without_config", name=_short(name)))
        return Resolved(
            read_config_file(config_path),
            _folder_name(path),
            Message("models.source.folder", path=path),
            config_path,
            folder=path,
        )
    if mode is not None:  # a file, or something that is not one: the reader says which
        parent = os.path.dirname(path) or "."
        base = os.path.basename(path)
        return Resolved(
            read_config_file(path),
            _folder_name(parent) if base == "config.json" else os.path.splitext(base)[0],
            Message("models.source.file", path=path),
            path,
            folder=parent,
        )
    preset = _find_preset(name)
    if preset is not None:
        entry = preset_index()[preset]
        text = packaged_text("gpuwise.models", f"presets/{entry['file']}")
        where = Message("models.where.preset", preset=preset)
        return Resolved(
            parse_config_text(text, where),
            preset,
            Message("models.source.preset", preset=preset, hf_id=entry["hf_id"]),
            where,
        )
    m = _SIZE.match(name)
    if m:
        return _from_size(name, float(m.group(1)) * (1e9 if m.group(2).lower() == "b" else 1e6))
    if LOOKS_LIKE_ID.fullmatch(name):
        return _from_hub(name, download, source)
    if any(sep in name for sep in ("/", os.sep)) or name.endswith(".json"):
        raise GpuwiseError(Message("models.no_such_path", name=_short(name)))
    raise GpuwiseError(
        Message("models.unknown", name=_short(name), closest=_closest(name)),
        code="unknown_model",
    )


def _closest(name: str) -> Message:
    """``; closest presets: ...`` for an error line, and where the list of them is."""
    from gpuwise.models.suggest import closest_presets

    near = closest_presets(name, preset_index())
    if near:
        return Message("models.closest_presets", presets=", ".join(near))
    return Message("models.list_presets")


def _from_hub(name: str, download: bool, source: str) -> Resolved:
    """A hub id: the Hugging Face cache, the ModelScope cache, gpuwise's saved downloads, and
    with ``download`` the hub itself."""
    # only for a hub id: a config file, preset or size never loads these
    from gpuwise.models.modelscope_cache import find_in_modelscope_cache, modelscope_cache_dirs
    from gpuwise.models.saved_configs import find_saved

    cached = find_in_hf_cache(name)
    if cached is not None:
        return _cached(name, cached, Message("models.source.hf_cache", path=cached))
    parts = hub_id_parts(name)
    if parts is None:
        raise GpuwiseError(
            Message("models.bad_hub_id", name=_short(name), caches=", ".join(hf_cache_dirs())),
            code="unknown_model",
        )
    found = find_in_modelscope_cache(*parts)
    if found is not None:
        return _cached(name, found, Message("models.source.modelscope_cache", path=found))
    saved = find_saved(*parts, first=source)
    if saved is not None:
        return _cached(name, saved[1], Message("models.source.saved", hub=saved[0], path=saved[1]))
    if download:
        return _download(name, parts, source)
    looked = [*hf_cache_dirs(), *modelscope_cache_dirs()]
    raise GpuwiseError(
        Message(
            "models.not_cached",
            name=name,
            looked=", ".join(looked) or Message("models.no_cache_folder"),
            closest=_closest(name),
        ),
        code="unknown_model",
    )


def _cached(name: str, path: str, source: Message) -> Resolved:
    return Resolved(read_config_file(path), name, source, path, folder=os.path.dirname(path))


def _download(name: str, parts: tuple[str, str], source: str) -> Resolved:
    from gpuwise.models.download import fetch_config
    from gpuwise.models.saved_configs import save

    url, data, config = fetch_config(*parts, source)
    try:
        path = save(source, *parts, data)
    except GpuwiseError as e:
        return Resolved(
            config,
            name,
            Message("models.source.downloaded", url=url),
            url,
            (Message("models.not_kept", reason=e.message),),
        )
    return Resolved(
        config,
        name,
        Message("models.source.downloaded_saved", url=url, path=path),
        path,
        folder=os.path.dirname(path),
    )


def _short(name: str) -> str | Message:
    return cut(name, 120)


@functools.lru_cache(maxsize=1)
def _size_table() -> dict[str, Any]:
    table: dict[str, Any] = packaged_json("gpuwise.models", "data/size_shapes.json")
    return table


def _from_size(name: str, target: float) -> Resolved:
    """Llama shapes for a bare size (data/size_shapes.json says how they are chosen)."""
    from gpuwise.models.build import spec_from_config

    if not 1e6 <= target <= 1e13:
        raise GpuwiseError(Message("models.size_out_of_range", name=name))
    table = _size_table()
    refs = []
    for ref in table["references"]:
        spec = spec_from_config(
            dict(ref["config"]),
            name=ref["name"],
            source=Message("models.source.size_table"),
            where=Message("models.where.size_reference", name=ref["name"]),
        )
        refs.append((ref, spec))
    ref, spec = min(refs, key=lambda r: abs(math.log(r[1].params / target)))
    config = dict(ref["config"])
    if abs(spec.params - target) / target <= table["within_fraction"]:
        why = Message(
            "models.assumed_shapes", name=name, reference=ref["name"], params=f"{spec.params:,}"
        )
    else:
        per_layer = sum(b.numel // b.count for b in spec.blocks if ".layers.*." in b.name)
        fixed = spec.params - per_layer * spec.num_layers
        layers = max(1, round((target - fixed) / per_layer))
        config["num_hidden_layers"] = layers
        total = fixed + per_layer * layers
        why = Message(
            "models.assumed_layers",
            name=name,
            reference=ref["name"],
            layers=layers,
            instead=spec.num_layers,
            params=f"{total:,}",
        )
    size = Message("models.source.size", size=name.strip())
    return Resolved(config, name.strip().lower(), size, size, (why,))


def launch_model_ref(name: str) -> str:
    """What a launch script loads for the model the user named: a preset's Hugging Face id,
    else the name itself (a path, folder or HF id). A bare size names no real model."""
    preset = _find_preset(name)
    if preset is not None:
        return str(preset_index()[preset]["hf_id"])
    if _SIZE.match(name) and _mode(name) is None:
        raise GpuwiseError(Message("models.emit_needs_model", size=repr(name)))
    return name
