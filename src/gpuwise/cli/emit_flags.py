"""``--emit DIR`` / ``--force``: the launch files of a plan, for ``plan`` and ``recommend``."""

from __future__ import annotations

import argparse
from pathlib import Path

from gpuwise.models.spec import ModelSpec
from gpuwise.parallel import Parallel
from gpuwise.workload import Workload


def add_emit_flags(p: argparse.ArgumentParser) -> None:
    g = p.add_argument_group("launch files")
    g.add_argument(
        "--emit",
        metavar="DIR",
        default=None,
        help="write the plan's launch files into DIR: accelerate_config.yaml, ds_config.json "
        "(ZeRO), launch.sh, train.py, plan.txt",
    )
    g.add_argument("--force", action="store_true", help="--emit: overwrite files already in DIR")


def emit_from(
    args: argparse.Namespace,
    spec: ModelSpec,
    workload: Workload,
    parallel: Parallel,
    model_ref: str,
    host_ram_bytes: int | None = None,
) -> list[Path]:
    """Write the files when ``--emit`` was given; the paths written (empty without it)."""
    if not getattr(args, "emit", None):
        return []
    from gpuwise.engines import launch_files, write_launch_files

    files = launch_files(
        spec, workload, parallel, model_ref=model_ref, host_ram_bytes=host_ram_bytes
    )
    return write_launch_files(args.emit, files, force=bool(getattr(args, "force", False)))
