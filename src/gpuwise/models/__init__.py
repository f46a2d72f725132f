"""Model shapes and exact parameter counts from Hugging Face configs, without torch."""

from __future__ import annotations

from gpuwise.models.build import spec_from_config
from gpuwise.models.families import SUPPORTED_MODEL_TYPES
from gpuwise.models.resolve import preset_names, resolve
from gpuwise.models.spec import ModelSpec, ParamBlock

__all__ = ["SUPPORTED_MODEL_TYPES", "ModelSpec", "ParamBlock", "load_model", "preset_names"]


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

        return load_gguf(name)
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
