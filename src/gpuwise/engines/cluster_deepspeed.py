"""DeepSpeed's files for a cluster plan with ZeRO sharding: ``hostfile`` and ``ds_config.json``.

The hostfile is DeepSpeed's resource list (``hostname slots=N`` a line, ``#`` comments:
``deepspeed/launcher/runner.py``, ``_parse_hostfile``); the host names are placeholders to fill
in. The config is the one-machine writer's (:func:`gpuwise.engines.deepspeed_config`) for the
layout's ZeRO stage over its data-parallel group, plus DeepSpeed's AutoTP training section
(``"tensor_parallel": {"autotp_size": tp}``, ``runtime/tensor_parallel/config.py``,
DeepSpeed >= 0.16.4) when the layout splits tensors.
"""

from __future__ import annotations

from gpuwise.engines.deepspeed_config import deepspeed_config
from gpuwise.models.spec import ModelSpec
from gpuwise.parallel import Parallel
from gpuwise.workload import Workload

TYPE_CHECKING = False
if TYPE_CHECKING:
    from gpuwise.cluster import Cluster
    from gpuwise.cluster.layout import Layout

HOSTFILE = "hostfile"
#: What the hostfile calls node k until the user names it.
HOST_PLACEHOLDER = "node-{k}"


def zero_stage(layout: Layout) -> int | None:
    """The ZeRO stage of the layout's sharding; None when it is not a ZeRO sharding."""
    if layout.sharding.startswith("zero"):
        return int(layout.sharding[4:])
    return None


#: DeepSpeed's file of variables its launcher passes to every node (``runner.py``,
#: DEEPSPEED_ENVIRONMENT_NAME: KEY=VALUE lines, read from the current folder and ~).
DS_ENV_FILE = ".deepspeed_env"


def hostfile(header: str, cluster: Cluster, layout: Layout, port: int) -> str:
    hosts = [
        f"{HOST_PLACEHOLDER.format(k=k)} slots={cluster.gpus_per_node}"
        for k in range(cluster.nodes)
    ]
    if layout.tp == 1:
        how = (
            "# DeepSpeed's own launcher (it reaches each node by pdsh / ssh), from this folder:\n"
            f"#   deepspeed --hostfile hostfile --master_addr node-0 --master_port {port} "
            "train.py --model MODEL\n"
            f"# with MODEL as torchrun.sh sets it; {DS_ENV_FILE} passes train.py's variables.\n"
        )
    else:
        how = (
            "# ds_config.json splits tensors with DeepSpeed's AutoTP; gpuwise's train.py is not\n"
            "# written for it (every rank of a tensor-parallel group must see the same batch):\n"
            "#   deepspeed --hostfile hostfile YOUR_SCRIPT.py (deepspeed.initialize with "
            "ds_config.json)\n"
        )
    return (
        f"{header}"
        "# node-0, node-1, ...: each node's host name as `ssh NAME` reaches it from the first\n"
        "# node; slots = GPUs a node.\n" + how + "\n".join(hosts) + "\n"
    )


def cluster_ds_config(
    spec: ModelSpec, w: Workload, cluster: Cluster, layout: Layout
) -> dict[str, object]:
    """ds_config.json: the ZeRO stage over the data-parallel group of ``layout.dp`` ranks,
    ``layout.micro_batches`` micro-batches a step, and AutoTP of ``layout.tp``."""
    stage = zero_stage(layout)
    if stage is None:
        raise ValueError(f"{layout.sharding} is not a ZeRO sharding")
    # the one-machine writer over the data-parallel group: train_batch_size = micro x accum x dp,
    # which is DeepSpeed's own check with its world size the data-parallel size
    p = Parallel(f"zero{stage}", layout.dp, grad_accum=layout.micro_batches)
    cfg = deepspeed_config(spec, w, p)
    if layout.tp > 1:
        cfg["tensor_parallel"] = {"autotp_size": layout.tp}
    return cfg
