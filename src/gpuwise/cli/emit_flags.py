"""``--emit DIR`` / ``--force``: the launch files of a plan, for ``plan`` and ``recommend``."""

from __future__ import annotations

import argparse

from gpuwise.errors import GpuwiseError
from gpuwise.models.spec import ModelSpec
from gpuwise.parallel import Parallel
from gpuwise.workload import Workload

_NO_FOLDER = "names no folder; give the folder to write the launch files into, e.g. --emit run1"

TYPE_CHECKING = False
if TYPE_CHECKING:
    from pathlib import Path


def emit_dir(value: str) -> str:
    """``--emit``'s value: a folder name, not an empty or blank one (argparse's check, so both
    commands refuse it before planning)."""
    if not value.strip():
        raise argparse.ArgumentTypeError(f"{value!r} {_NO_FOLDER}")
    return value


def add_emit_flags(p: argparse.ArgumentParser) -> None:
    g = p.add_argument_group("launch files")
    g.add_argument(
        "--emit",
        metavar="DIR",
        default=None,
        type=emit_dir,
        help="write the plan's launch files into DIR: accelerate_config.yaml, ds_config.json "
        "(ZeRO), launch.sh, train.py, plan.txt (and .gpuwise-emit.json, the record --force uses)",
    )
    g.add_argument(
        "--force",
        action="store_true",
        help="--emit into a folder that is not empty: replace the launch files gpuwise wrote "
        "there and has not seen edited; other files are never touched",
    )


def emit_from(
    args: argparse.Namespace,
    spec: ModelSpec,
    workload: Workload,
    parallel: Parallel,
    model_ref: str,
    host_ram_bytes: int | None = None,
) -> list[Path]:
    """Write the files when ``--emit`` was given; the paths written (empty without it)."""
    folder = getattr(args, "emit", None)
    if folder is None:
        return []
    if not str(folder).strip():
        raise GpuwiseError(f"--emit {folder!r} {_NO_FOLDER}")
    from gpuwise.engines import launch_files, write_launch_files

    files = launch_files(
        spec, workload, parallel, model_ref=model_ref, host_ram_bytes=host_ram_bytes
    )
    return write_launch_files(folder, files, force=bool(getattr(args, "force", False)))
