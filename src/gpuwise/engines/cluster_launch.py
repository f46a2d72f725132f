"""The multi-node launch of a cluster plan: torchrun with c10d rendezvous, and NCCL's network.

``torchrun.sh`` runs once on every node (by hand, by ``pdsh``, or by ``job.sbatch`` through
``srun``). The rendezvous host, its port and the job's id come from the environment
(``MASTER_ADDR``, ``MASTER_PORT``, ``RDZV_ID``); the NCCL variables for the network are set with
defaults the user may override before running it. Facts in ``data/cluster_launch.json``.
"""

from __future__ import annotations

import shlex
from typing import Any

from gpuwise.packaged import packaged_json

TYPE_CHECKING = False
if TYPE_CHECKING:
    from gpuwise.cluster import Cluster

#: The shell variables torchrun.sh reads (job.sbatch sets them from Slurm's).
RDZV_VARS = ("MASTER_ADDR", "MASTER_PORT", "RDZV_ID")


def launch_data() -> dict[str, Any]:
    return dict(packaged_json("gpuwise.engines", "data/cluster_launch.json"))


def fabric(cluster: Cluster) -> str:
    """``ib``, ``roce`` or ``socket``: which NCCL transport the cluster's network takes."""
    net = cluster.network
    if net is None or not getattr(net, "rdma", True):
        return "socket" if net is not None else "none"
    return "roce" if net.key.startswith("roce") else "ib"


def nccl_env(cluster: Cluster) -> list[tuple[str, str, str]]:
    """(variable, default, what it means) for the cluster's network; none on one node."""
    kind = fabric(cluster)
    if kind == "none":
        return []
    return [(str(a), str(b), str(c)) for a, b, c in launch_data()["fabrics"][kind]["env"]]


def torchrun_argv(cluster: Cluster, script: list[str]) -> list[str]:
    """torchrun's words up to and including ``script`` (a file, or ``-m module``), with the
    rendezvous as shell references (``$MASTER_ADDR``...), to be written unquoted."""
    return [
        "torchrun",
        f"--nnodes={cluster.nodes}",
        f"--nproc-per-node={cluster.gpus_per_node}",
        "--rdzv-backend=c10d",
        '--rdzv-endpoint="${MASTER_ADDR}:${MASTER_PORT}"',
        '--rdzv-id="${RDZV_ID}"',
        "--max-restarts=0",
        *script,
    ]


def env_block(cluster: Cluster) -> str:
    """The lines of torchrun.sh that set the rendezvous and NCCL variables, each overridable."""
    port = int(launch_data()["rendezvous_port"])
    lines = [
        "# Rendezvous: the first node's host name (or address) every node can reach, a free port",
        "# on it, and an id shared by the job's nodes (job.sbatch sets all three from Slurm).",
        (
            'MASTER_ADDR="${MASTER_ADDR:?set MASTER_ADDR to the first node (host name or IP)}"'
            if cluster.nodes > 1
            else 'MASTER_ADDR="${MASTER_ADDR:-localhost}"'  # one node: its own rendezvous
        ),
        f'MASTER_PORT="${{MASTER_PORT:-{port}}}"',
        'RDZV_ID="${RDZV_ID:-gpuwise}"',
        "export MASTER_ADDR MASTER_PORT RDZV_ID",
    ]
    env = nccl_env(cluster)
    if env:
        name = launch_data()["fabrics"][fabric(cluster)]["name"]
        lines.append(
            f"# NCCL between nodes: {name}. Defaults below; FILL IN your own if they differ."
        )
        for var, default, what in env:
            lines.append(f"# {var}: {what}")
            lines.append(f'export {var}="${{{var}:-{default}}}"')
    return "\n".join(lines) + "\n"


def torchrun_sh(header: str, cluster: Cluster, script: list[str], tail: str, pre: str) -> str:
    """torchrun.sh: ``header`` (comment lines), the variables, ``pre`` (lines setting what the
    script reads), then the torchrun command running ``script`` followed by ``tail`` (already
    shell text: its arguments, then ``"$@"``)."""
    words = torchrun_argv(cluster, script)
    # the rendezvous flags and a script named through a variable ("$VAR/...") stay shell text
    raw = ("--rdzv-", '"$')
    head = " \\\n    ".join(w if w.startswith(raw) else shlex.quote(w) for w in words)
    return (
        "#!/usr/bin/env bash\n"
        f"{header}"
        "# Run it on every node at once (job.sbatch does so through srun); extra arguments go to\n"
        "# the training script.\n"
        "set -euo pipefail\n"
        'cd -- "$(dirname -- "$0")"\n'
        f"{env_block(cluster)}"
        f"{pre}"
        f"{head} \\\n    {tail}\n"
    )
