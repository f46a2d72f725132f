"""job.sbatch: the cluster plan as a Slurm batch job, one torchrun per node through srun.

Directives as Slurm documents them (https://slurm.schedmd.com/sbatch.html): ``--nodes``,
``--ntasks-per-node=1`` (one launcher a node; torchrun starts the node's ranks),
``--gpus-per-node``, ``--cpus-per-task`` (the node's cores for the launcher and its ranks),
``--time`` (the plan's run time with a margin, when the plan has one). The first node of the
allocation is the rendezvous host.
"""

from __future__ import annotations

import math

from gpuwise.engines.cluster_launch import launch_data

TYPE_CHECKING = False
if TYPE_CHECKING:
    from gpuwise.cluster import Cluster

#: Without a run time in the plan: a placeholder the header says to fill in.
DEFAULT_MINUTES = 60
#: Slurm refuses more than 365 days in some setups; past that the time is a placeholder too.
MAX_MINUTES = 365 * 24 * 60
#: Margin over the plan's time: step time varies, and a job killed at its limit loses its work.
MARGIN = 1.2


def slurm_time(seconds: float | None) -> tuple[str, bool]:
    """``--time`` as D-HH:MM:SS, and whether it came from the plan (False: the placeholder)."""
    if seconds is None or not math.isfinite(seconds) or seconds <= 0:
        minutes, planned = DEFAULT_MINUTES, False
    else:
        minutes, planned = max(1, math.ceil(seconds * MARGIN / 60)), True
        if minutes > MAX_MINUTES:
            minutes, planned = DEFAULT_MINUTES, False
    days, rest = divmod(minutes, 24 * 60)
    return f"{days}-{rest // 60:02d}:{rest % 60:02d}:00", planned


def directives(cluster: Cluster, job_name: str, seconds: float | None) -> list[tuple[str, str]]:
    """(option, value) for the #SBATCH lines, in order."""
    time, _ = slurm_time(seconds)
    cpus = int(launch_data()["cpus_per_gpu"]) * cluster.gpus_per_node
    return [
        ("job-name", job_name),
        ("nodes", str(cluster.nodes)),
        ("ntasks-per-node", "1"),
        ("gpus-per-node", str(cluster.gpus_per_node)),
        ("cpus-per-task", str(cpus)),
        ("time", time),
        ("output", "%x-%j.out"),
    ]


def job_sbatch(header: str, cluster: Cluster, job_name: str, seconds: float | None) -> str:
    """The batch script; ``header`` is comment lines, ``job_name`` a plain word."""
    time, planned = slurm_time(seconds)
    port = int(launch_data()["rendezvous_port"])
    lines = ["#!/bin/bash"]
    lines += [f"#SBATCH --{opt}={value}" for opt, value in directives(cluster, job_name, seconds)]
    note = (
        f"# --time {time}: the plan's run time x {MARGIN} (margin), rounded up to a minute."
        if planned
        else f"# --time {time}: a placeholder (the plan has no run time): FILL IN yours."
    )
    cpus = int(launch_data()["cpus_per_gpu"]) * cluster.gpus_per_node
    lines += [
        header.rstrip("\n"),
        "# Submit with `sbatch job.sbatch` from this folder (it must be on a file system every",
        "# node sees); add your cluster's --partition / --account lines above if it needs them.",
        note,
        f"# --cpus-per-task {cpus}: {launch_data()['cpus_per_gpu']} cores a GPU, an assumption: "
        "FILL IN what your nodes have.",
        "set -euo pipefail",
        'MASTER_ADDR="$(scontrol show hostnames "$SLURM_JOB_NODELIST" | head -n 1)"',
        f'MASTER_PORT="${{MASTER_PORT:-{port}}}"',
        'RDZV_ID="$SLURM_JOB_ID"',
        "export MASTER_ADDR MASTER_PORT RDZV_ID",
        "# one task a node: each runs torchrun.sh, which starts the node's ranks",
        f"srun --nodes={cluster.nodes} --ntasks-per-node=1 --kill-on-bad-exit=1 "
        'bash "$SLURM_SUBMIT_DIR/torchrun.sh" "$@"',
    ]
    return "\n".join(lines) + "\n"
