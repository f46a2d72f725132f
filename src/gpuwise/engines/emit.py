"""The launch files of a plan, and writing them into the folder the user names."""

from __future__ import annotations

import json
from pathlib import Path

from gpuwise.engines.accelerate_config import DS_CONFIG_FILE, accelerate_config
from gpuwise.engines.deepspeed_config import deepspeed_config
from gpuwise.engines.launch import CONFIG_FILE, launch_sh
from gpuwise.engines.plan_text import plan_txt
from gpuwise.engines.train_script import train_py
from gpuwise.engines.yaml_text import dump
from gpuwise.errors import GpuwiseError
from gpuwise.models.spec import ModelSpec
from gpuwise.parallel import Parallel
from gpuwise.workload import Workload

#: Every file some plan writes (a plan writes a subset).
LAUNCH_FILES = (CONFIG_FILE, "launch.sh", "train.py", "plan.txt", DS_CONFIG_FILE)

HEADER = "# Written by `gpuwise plan --emit` for accelerate >= 1.10 (FSDP2); see plan.txt\n"


def launch_files(
    spec: ModelSpec,
    w: Workload,
    p: Parallel,
    *,
    model_ref: str,
    host_ram_bytes: int | None = None,
) -> dict[str, str]:
    """File name (relative) -> text, for a training workload run with strategy ``p``.

    ``model_ref``: what the user named the model by (an HF id, a model folder or a config.json;
    a local path is written absolute). ``host_ram_bytes``: the host memory the plan needs for
    offloaded state, stated in plan.txt (None: not computed).
    """
    if w.task != "train":
        raise GpuwiseError("--emit writes training launch files; use it with --task train")
    if not model_ref.isprintable():  # a newline would end a comment in launch.sh
        raise GpuwiseError(
            f"--emit: the model name {model_ref!r} holds control characters; rename the path"
        )
    local = Path(model_ref).expanduser()
    if local.exists():  # launch.sh runs from its own folder: a local path must be absolute
        model_ref = str(local.resolve())
    files = {
        CONFIG_FILE: HEADER + dump(accelerate_config(spec, w, p)),
        "launch.sh": launch_sh(spec, w, p, model_ref),
        "train.py": train_py(spec, w, p, model_ref),
        "plan.txt": plan_txt(spec, w, p, model_ref, host_ram_bytes),
    }
    if p.engine == "deepspeed":
        files[DS_CONFIG_FILE] = json.dumps(deepspeed_config(spec, w, p), indent=2) + "\n"
    return files


def write_launch_files(
    directory: str | Path, files: dict[str, str], *, force: bool = False
) -> list[Path]:
    """Write ``files`` into ``directory`` (created if needed); the paths written.

    Refuses, with a one-line GpuwiseError, a path that is a file, a name that would land outside
    ``directory``, and a folder that is not empty unless ``force`` (which overwrites the launch
    files, removes those of another plan this one does not write, such as a ds_config.json, and
    leaves any other file alone). Nothing is written when it refuses.
    """
    root = Path(directory)
    if root.exists() and not root.is_dir():
        raise GpuwiseError(f"--emit {root}: is a file, not a folder; name a new or empty folder")
    if root.is_dir() and not force:
        present = sorted(c.name for c in root.iterdir())
        if present:
            raise GpuwiseError(
                f"--emit {root}: the folder is not empty (it has {present[0]}); pass --force "
                "to overwrite the launch files in it, or name a new folder"
            )
    resolved = root.resolve()
    targets = []
    for name in files:
        target = (root / name).resolve()
        if target.parent != resolved:
            raise GpuwiseError(f"--emit: refusing to write {name!r} outside {root}")
        if target.is_dir():
            raise GpuwiseError(f"--emit {root}: {name} is a folder there; remove it first")
        targets.append((target, files[name]))
    # launch files of another plan left in the folder (--force) would mislead: remove them
    stale = [resolved / n for n in LAUNCH_FILES if n not in files and (resolved / n).is_file()]
    try:
        root.mkdir(parents=True, exist_ok=True)
        for old in stale:
            old.unlink()
        for target, text in targets:
            target.write_text(text, encoding="utf-8")
            if target.suffix == ".sh":
                target.chmod(0o755)
    except OSError as e:
        raise GpuwiseError(f"--emit {root}: cannot write there ({e.strerror or e})") from None
    return [t for t, _ in targets]
