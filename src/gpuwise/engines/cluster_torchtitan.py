"""torchtitan's arguments for a TP / PP / CP layout (torchtitan 0.3.0, ``torchtitan.train``).

torchtitan 0.3.0 reads no TOML file: a job is a ``--module`` (model family) and a ``--config``
(a function of that module's ``config_registry.py``) with ``--section.field value`` overrides,
parsed by ``torchtitan.config.ConfigManager`` (tyro). gpuwise writes the overrides of the layout
and the workload; the model's module and config come from ``data/torchtitan_models.json``
(placeholders for a model torchtitan does not ship).

- ``parallelism``: tensor / pipeline / context degrees; the data-parallel group as
  ``data_parallel_shard_degree`` (FSDP over the replicas: fsdp and the ZeRO shardings) or
  ``data_parallel_replicate_degree`` (ddp), both for hsdp (shard within a node, replicate
  across nodes); ZeRO-1/2 as FSDP that keeps the gathered weights from forward to backward
  (``fsdp_reshard_after_forward never``), ZeRO-3 and fsdp resharding after forward;
  sequence parallel on or off; the schedule (``1F1B``, ``Interleaved1F1B``) and, for the
  interleaved one, ``pipeline_parallel_layers_per_stage`` = layers / (pp x v) with no layers
  taken off the first and last stages, so each rank holds exactly v chunks.
- ``training``: ``dtype`` and ``mixed_precision_param`` (bf16: all in bf16; amp-bf16 and the ZeRO
  shardings with bf16: fp32 sharded weights, bf16 compute; fp32: fp32; torchtitan has no fp16,
  and trains the full model only: both refused in one line), ``seq_len`` (the whole sequence;
  CP splits it), ``local_batch_size`` (sequences a data-parallel rank takes a step: micro-batch
  x micro-batches under a pipeline, which splits it into micro-batches of
  ``pipeline_parallel_microbatch_size``; the micro-batch otherwise, with ``global_batch_size``
  making torchtitan accumulate the rest).
- ``--training.disable_cuda_graphs`` under a pipeline (torchtitan refuses CUDA graphs with PP).
- activation checkpointing: the ``activation-checkpoint:full`` / ``activation-checkpoint:none``
  subcommand.
"""

from __future__ import annotations

import math
from typing import Any

from gpuwise.i18n import Message
from gpuwise.models.spec import ModelSpec
from gpuwise.packaged import packaged_json
from gpuwise.workload import Workload

TYPE_CHECKING = False
if TYPE_CHECKING:
    from gpuwise.cluster import Cluster
    from gpuwise.cluster.layout import Layout

#: The shell variables torchtitan.sh names the module and config by.
MODULE_VAR, CONFIG_VAR = "TT_MODULE", "TT_CONFIG"


def titan_data() -> dict[str, Any]:
    return dict(packaged_json("gpuwise.engines", "data/torchtitan_models.json"))


def titan_model(spec: ModelSpec) -> tuple[str, str] | None:
    """torchtitan's (module, config) for the model, None when torchtitan ships none."""
    found = titan_data()["models"].get(spec.name)
    return (str(found[0]), str(found[1])) if found else None


def data_parallel_degrees(cluster: Cluster, layout: Layout) -> tuple[int, int]:
    """(replicate, shard) degrees of the data-parallel group."""
    if layout.sharding == "ddp":
        return layout.dp, 1
    if layout.sharding == "hsdp":
        replicate = math.gcd(layout.dp, cluster.nodes)
        return replicate, layout.dp // replicate
    return 1, layout.dp


#: gpuwise precision -> torchtitan's (training.dtype, training.mixed_precision_param); torchtitan
#: 0.3.0 takes only bfloat16 and float32 (TrainingConfig's Literal types).
PRECISIONS = {"bf16": ("bfloat16", "bfloat16"), "amp-bf16": ("float32", "bfloat16"),
              "fp32": ("float32", "float32")}  # fmt: skip


def titan_problem(w: Workload) -> Message | None:
    """Why torchtitan cannot run ``w`` (one line), or None."""
    if w.method != "full":
        return Message("cluster_emit.titan_full_only", method=w.method)
    if w.precision not in PRECISIONS:
        return Message("cluster_emit.titan_precision", precision=w.precision)
    return None


def titan_precision(w: Workload, layout: Layout) -> tuple[str, str]:
    """torchtitan's dtype and parameter dtype: pure bf16 as bf16 parameters, gradients and
    states; under a ZeRO sharding fp32 sharded weights with bf16 compute, the fp32 master
    weights ZeRO keeps beside bf16 training (gpuwise.cluster.memory counts them)."""
    if w.precision == "bf16" and layout.sharding.startswith("zero"):
        return "float32", "bfloat16"
    return PRECISIONS[w.precision]


def titan_overrides(
    spec: ModelSpec, w: Workload, cluster: Cluster, layout: Layout
) -> list[list[str]]:
    """The ``--section.field value`` pairs (a flag alone; the checkpointing subcommand last)."""
    replicate, shard = data_parallel_degrees(cluster, layout)
    reshard = "never" if layout.sharding in ("zero1", "zero2") else "default"
    sp = "enable_sequence_parallel" if layout.sequence_parallel else "no_enable_sequence_parallel"
    par = "--parallelism."
    args = [
        [f"{par}data_parallel_replicate_degree", str(replicate)],
        [f"{par}data_parallel_shard_degree", str(shard)],
        [f"{par}fsdp_reshard_after_forward", reshard],
        [f"{par}tensor_parallel_degree", str(layout.tp)],
        [f"{par}{sp}"],
        [f"{par}context_parallel_degree", str(layout.cp)],
        [f"{par}pipeline_parallel_degree", str(layout.pp)],
    ]
    if layout.pp > 1:
        args.append(
            [f"{par}pipeline_parallel_schedule", titan_data()["schedules"][layout.schedule]]
        )
        args.append([f"{par}pipeline_parallel_microbatch_size", str(w.batch)])
        stages = layout.pp * layout.virtual_stages
        if layout.schedule == "interleaved" and spec.num_layers % stages == 0:
            args.append(
                [f"{par}pipeline_parallel_layers_per_stage", str(spec.num_layers // stages)]
            )
            args.append([f"{par}pipeline_parallel_first_stage_less_layers", "0"])
            args.append([f"{par}pipeline_parallel_last_stage_less_layers", "0"])
        local = w.batch * layout.micro_batches
        # torchtitan 0.3.0 refuses CUDA graphs under a pipeline (Trainer.Config's check)
        args.append(["--training.disable_cuda_graphs"])
    else:
        local = w.batch
    dtype, param = titan_precision(w, layout)
    args.append(["--training.dtype", dtype])
    args.append(["--training.mixed_precision_param", param])
    args.append(["--training.seq_len", str(w.seq)])
    args.append(["--training.local_batch_size", str(local)])
    args.append(["--training.global_batch_size", str(w.batch * layout.micro_batches * layout.dp)])
    ckpt = "full" if w.grad_checkpointing else "none"
    args.append([f"activation-checkpoint:{ckpt}"])
    return args


def titan_module_lines(spec: ModelSpec) -> tuple[str, str]:
    """torchtitan.sh's lines setting the module and config, and a comment on them."""
    found = titan_model(spec)
    if found is None:
        return (
            f'{MODULE_VAR}="${{{MODULE_VAR}:?set {MODULE_VAR} to the torchtitan model family, '
            'e.g. llama3}"\n'
            f'{CONFIG_VAR}="${{{CONFIG_VAR}:?set {CONFIG_VAR} to a function of its '
            'config_registry.py, e.g. llama3_8b}"\n',
            "# FILL IN TT_MODULE / TT_CONFIG: torchtitan ships no config of this model's shapes.\n",
        )
    module, config = found
    return (
        f'{MODULE_VAR}="${{{MODULE_VAR}:-{module}}}"\n{CONFIG_VAR}="${{{CONFIG_VAR}:-{config}}}"\n',
        f"# torchtitan's {module} / {config} has this model's shapes; its tokenizer and weights\n"
        "# come from --hf-assets-path (torchtitan's scripts/download_hf_assets.py).\n",
    )
