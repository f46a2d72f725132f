"""accelerate_config.yaml for a data-parallel cluster layout (tp = pp = cp = 1) on several nodes.

The one-machine writer's config (:func:`gpuwise.engines.accelerate_config`: FSDP2, HSDP through
``parallelism_config``, or a DeepSpeed config file) with accelerate's multi-node fields
(``commands/config/config_args.py`` ClusterConfig, accelerate 1.15): ``num_machines``,
``num_processes`` (every GPU of the job), ``machine_rank`` (0 here: each node passes its own with
``--machine_rank``), ``main_process_ip`` / ``main_process_port`` (the first node; a placeholder
to fill in), ``rdzv_backend: c10d`` and ``same_network``.
"""

from __future__ import annotations

from gpuwise.engines.accelerate_config import accelerate_config
from gpuwise.engines.cluster_launch import launch_data
from gpuwise.models.spec import ModelSpec
from gpuwise.parallel import Parallel
from gpuwise.workload import Workload

TYPE_CHECKING = False
if TYPE_CHECKING:
    from gpuwise.cluster import Cluster
    from gpuwise.cluster.layout import Layout

#: What accelerate_config.yaml names the first node until the user does.
MAIN_PLACEHOLDER = "node-0"


def hsdp_groups(cluster: Cluster, layout: Layout) -> tuple[int, int]:
    """(replicate, shard) of HSDP: shard within a node, replicate across nodes (the layout's
    rule), as far as the data-parallel size divides."""
    import math

    replicate = math.gcd(layout.dp, cluster.nodes)
    return replicate, layout.dp // replicate


def layout_parallel(cluster: Cluster, layout: Layout) -> Parallel:
    """The one-machine strategy a data-parallel layout is, over all ``layout.dp`` GPUs (not
    validated against one machine's card count: only the writers read it)."""
    strategy = {"ddp": "ddp", "fsdp": "fsdp", "hsdp": "fsdp-hybrid"}.get(layout.sharding)
    if strategy is None:
        strategy = layout.sharding  # zero1 / zero2 / zero3
    shard = hsdp_groups(cluster, layout)[1] if layout.sharding == "hsdp" else None
    return Parallel(strategy, layout.dp, shard, grad_accum=layout.micro_batches)


def cluster_accelerate_config(
    spec: ModelSpec, w: Workload, cluster: Cluster, layout: Layout
) -> dict[str, object]:
    cfg = accelerate_config(spec, w, layout_parallel(cluster, layout))
    ds = cfg.get("deepspeed_config")
    if isinstance(ds, dict):
        # every node runs `accelerate launch` itself (torch.distributed.run), as torchrun.sh does;
        # DeepSpeed's own pdsh launcher reads the hostfile instead
        ds["deepspeed_multinode_launcher"] = "standard"
    cfg.update(
        {
            "machine_rank": 0,
            "main_process_ip": MAIN_PLACEHOLDER,
            "main_process_port": int(launch_data()["rendezvous_port"]),
            "num_machines": cluster.nodes,
            "num_processes": cluster.world,
            "rdzv_backend": "c10d",
            "same_network": True,
        }
    )
    return cfg
