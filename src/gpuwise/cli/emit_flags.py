"""``--emit DIR`` / ``--force``: the launch files of a plan, for ``plan`` and ``recommend``."""

from __future__ import annotations

import argparse

from gpuwise.cli.lang import help_text
from gpuwise.errors import GpuwiseError
from gpuwise.i18n import Message, render
from gpuwise.models.spec import ModelSpec
from gpuwise.parallel import Parallel
from gpuwise.workload import Workload

TYPE_CHECKING = False
if TYPE_CHECKING:
    from pathlib import Path
    from typing import Any


def emit_dir(value: str) -> str:
    """``--emit``'s value: a folder name, not an empty or blank one (argparse's check, so both
    commands refuse it before planning)."""
    if not value.strip():
        raise argparse.ArgumentTypeError(render("engines.no_folder", {"value": repr(value)}))
    return value


def add_emit_flags(p: argparse.ArgumentParser) -> None:
    g = p.add_argument_group(help_text("engines.group"))
    g.add_argument(
        "--emit",
        metavar="DIR",
        default=None,
        type=emit_dir,
        help=help_text("engines.opt.emit"),
    )
    g.add_argument(
        "--force",
        action="store_true",
        help=help_text("engines.opt.force"),
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
        raise GpuwiseError(Message("engines.emit_no_folder", value=repr(folder)))
    from gpuwise.engines import launch_files, write_launch_files

    files = launch_files(
        spec,
        workload,
        parallel,
        model_ref=model_ref,
        host_ram_bytes=host_ram_bytes,
        framework=getattr(args, "framework", None) or "transformers",
    )
    return write_launch_files(folder, files, force=bool(getattr(args, "force", False)))


def emit_cluster_from(
    args: argparse.Namespace,
    spec: ModelSpec,
    plan: Any,
    model_ref: str,
    tokens: float | None = None,
) -> list[Path]:
    """A cluster plan's launch files (``--nodes M`` / ``--layout``) when ``--emit`` was given;
    the paths written (empty without it). ``plan``: the Plan of one card (its workload in the
    card's precision); ``tokens``: the job's tokens, for job.sbatch's ``--time``."""
    folder = getattr(args, "emit", None)
    if folder is None:
        return []
    if not str(folder).strip():
        raise GpuwiseError(Message("engines.emit_no_folder", value=repr(folder)))
    framework = getattr(args, "framework", None) or "transformers"
    if framework != "transformers":
        raise GpuwiseError(Message("cluster_emit.no_framework", framework=framework))
    if len(plan.cards) != 1:
        raise GpuwiseError(Message("cluster_emit.one_card", count=len(plan.cards)))
    from gpuwise.cli.cluster_flags import cluster_from
    from gpuwise.cluster.plan import cluster_plan

    card = plan.cards[0]
    cluster, layout = cluster_from(args, card.card)
    cp = cluster_plan(spec, card.workload, cluster, layout)
    rate = getattr(cp.time, "tokens_per_s", 0.0) if cp.time is not None else 0.0
    time_s = tokens / rate if tokens and rate > 0 else None
    return write_cluster_files(args, spec, card.workload, cp.cluster, cp.layout, model_ref, time_s)


def write_cluster_files(
    args: argparse.Namespace,
    spec: ModelSpec,
    workload: Workload,
    cluster: Any,
    layout: Any,
    model_ref: str,
    time_s: float | None = None,
) -> list[Path]:
    """Write the launch files of ``layout`` on ``cluster`` into ``--emit``'s folder (the paths
    written; empty without ``--emit``). ``time_s``: the run's time, job.sbatch's ``--time``."""
    folder = getattr(args, "emit", None)
    if folder is None:
        return []
    from gpuwise.engines import write_launch_files
    from gpuwise.engines.cluster_emit import cluster_launch_files

    files = cluster_launch_files(
        spec, workload, cluster, layout, model_ref=model_ref, time_s=time_s
    )
    return write_launch_files(folder, files, force=bool(getattr(args, "force", False)))
