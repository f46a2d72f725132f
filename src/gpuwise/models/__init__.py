"""Model shapes and exact parameter counts from Hugging Face configs, without torch."""

from __future__ import annotations

from gpuwise.models.build import spec_from_config
from gpuwise.models.families import SUPPORTED_MODEL_TYPES
from gpuwise.models.resolve import preset_names, resolve
from gpuwise.models.spec import ModelSpec, ParamBlock

__all__ = [
    "SUPPORTED_MODEL_TYPES",
    "ModelSpec",
    "ParamBlock",
    "keep_loaded",
    "load_model",
    "preset_names",
]

#: Models kept between calls by a process that answers many (`gpuwise serve`, while
#: :func:`keep_loaded` is on): (name, options) -> spec, for presets and bare sizes only. Off,
#: each call loads (the command line loads one model once).
_kept: dict[tuple[str, bool, bool, str], ModelSpec] = {}
_keeping = False
#: The most models kept (bare sizes are endless).
_KEEP = 64
#: GGUF files kept (an upload to `gpuwise serve` is one): (path, its size, times and inode)
#: -> spec, read again when the file changes.
_kept_files: dict[tuple[str, tuple[int, ...]], ModelSpec] = {}


def keep_loaded(on: bool = True) -> bool:
    """While on, keep the model a preset or a bare size names for the next calls: the same
    spec object each time, so that the caches of plans and searches keyed by it find it by
    identity; a GGUF file's until the file changes. A config path or a hub id is read each
    time. Returns whether it was on."""
    global _keeping
    before, _keeping = _keeping, on
    return before


def load_model(
    name: str,
    *,
    trust_remote_code: bool = False,
    download: bool = False,
    source: str = "huggingface",
) -> ModelSpec:
    """The ModelSpec for a GGUF file (its header: shapes and each tensor's type), a
    config.json path, a model folder, a preset, a size or a hub id (in
    the local Hugging Face or ModelScope cache; with ``download``, fetched from ``source``,
    "huggingface" or "modelscope", its config.json alone)."""
    if isinstance(name, str) and _is_gguf(name):
        from gpuwise.models.gguf_file import load_gguf

        stamp = _stamp(name) if _keeping else None
        if stamp is None:
            return load_gguf(name)
        file_key = (name, stamp)
        kept = _kept_files.get(file_key)
        if kept is None:
            if len(_kept_files) >= 8:
                _kept_files.clear()
            kept = _kept_files[file_key] = load_gguf(name)
        return kept
    if _keeping and _same_every_time(name):
        key = (name, trust_remote_code, download, source)
        spec = _kept.get(key)
        if spec is None:
            if len(_kept) >= _KEEP:
                _kept.clear()
            spec = _kept[key] = _load(name, trust_remote_code, download, source)
        return spec
    return _load(name, trust_remote_code, download, source)


def _load(name: str, trust_remote_code: bool, download: bool, source: str) -> ModelSpec:
    found = resolve(name, download=download, source=source)
    return spec_from_config(
        found.config,
        name=found.name,
        source=found.source,
        where=found.where,
        trust_remote_code=trust_remote_code,
        assumptions=found.assumptions,
        folder=found.folder,
    )


def _same_every_time(name: str) -> bool:
    """Whether ``name`` is a packaged preset or a bare size (not a path on this machine, which
    the resolver would read first): what it loads never changes while gpuwise runs."""
    import os

    from gpuwise.models.resolve import _SIZE, _find_preset

    if not isinstance(name, str) or not name.strip():
        return False
    try:
        if os.path.lexists(os.path.expanduser(name)):
            return False
    except (OSError, ValueError):
        return False
    return _find_preset(name) is not None or _SIZE.match(name) is not None


def _stamp(path: str) -> tuple[int, ...] | None:
    """A regular file's size, times and inode (None: not one, or not readable)."""
    import os
    import stat

    try:
        st = os.stat(path)
    except (OSError, ValueError):
        return None
    if not stat.S_ISREG(st.st_mode):
        return None
    return st.st_size, st.st_mtime_ns, st.st_ctime_ns, st.st_ino


def _is_gguf(name: str) -> bool:
    """A ``.gguf`` path, or a regular file that starts with GGUF's magic (Ollama keeps its
    models as ``blobs/sha256-...``, without the suffix)."""
    if name.strip().lower().endswith(".gguf"):
        return True
    import os
    import stat

    try:
        if not stat.S_ISREG(os.stat(name).st_mode):
            return False  # a folder, a FIFO: the resolver says what it is
        with open(name, "rb") as f:
            return f.read(4) == b"GGUF"
    except (OSError, ValueError):
        return False
