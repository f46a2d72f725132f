"""The launch files of a cluster plan (several nodes, or an explicit layout), as text.

Which files a layout gets:

- always ``torchrun.sh`` (one torchrun a node, c10d rendezvous, NCCL's variables for the
  network) and ``job.sbatch`` (Slurm: srun runs torchrun.sh on every node);
- a data-parallel layout (tp = pp = cp = 1): ``train.py`` (the one-machine reference step),
  which torchrun.sh runs with the variables ``accelerate launch`` would set, and the multi-node
  ``accelerate_config.yaml`` for running it through accelerate instead;
- tensor, pipeline or context parallel: torchrun.sh runs ``torchtitan.train`` with the layout's
  arguments (:mod:`gpuwise.engines.cluster_torchtitan`);
- tensor, pipeline or context parallel with ddp or zero1 for a Llama / Qwen / Mistral model:
  ``megatron.sh`` too, the same launch running Megatron-LM's pretrain_gpt.py
  (:mod:`gpuwise.engines.cluster_megatron`);
- ZeRO sharding without pipeline or context parallel: ``hostfile`` and ``ds_config.json``
  (AutoTP for tp > 1) for DeepSpeed's own launcher, and with tp = 1 ``.deepspeed_env``, the
  variables train.py's Accelerator reads, which DeepSpeed's launcher passes to every node.

Every file opens with a header naming the plan and what to fill in, and every line of every
file is checked for characters a shell or terminal acts on (as :mod:`gpuwise.engines.emit`).
"""

from __future__ import annotations

import json
import re
import shlex

from gpuwise.engines.accelerate_config import DS_CONFIG_FILE, launcher_env
from gpuwise.engines.cluster_accelerate import cluster_accelerate_config, layout_parallel
from gpuwise.engines.cluster_deepspeed import (
    DS_ENV_FILE,
    HOSTFILE,
    cluster_ds_config,
    hostfile,
    zero_stage,
)
from gpuwise.engines.cluster_launch import fabric, launch_data, torchrun_sh
from gpuwise.engines.cluster_megatron import CHECKOUT_VAR, megatron_args, megatron_fits
from gpuwise.engines.cluster_slurm import job_sbatch
from gpuwise.engines.cluster_torchtitan import (
    CONFIG_VAR,
    MODULE_VAR,
    titan_module_lines,
    titan_overrides,
    titan_problem,
)
from gpuwise.engines.emit import _refuse_unsafe, launch_ref
from gpuwise.engines.launch import CONFIG_FILE, MODEL_ARGS, MODEL_VAR
from gpuwise.engines.train_script import train_py
from gpuwise.engines.yaml_text import dump
from gpuwise.errors import GpuwiseError
from gpuwise.i18n import Message
from gpuwise.models.spec import ModelSpec
from gpuwise.workload import Workload

TYPE_CHECKING = False
if TYPE_CHECKING:
    from gpuwise.cluster import Cluster
    from gpuwise.cluster.layout import Layout

#: Every file some cluster plan writes.
CLUSTER_FILES = (
    "torchrun.sh",
    "job.sbatch",
    "megatron.sh",
    "train.py",
    CONFIG_FILE,
    HOSTFILE,
    DS_CONFIG_FILE,
    DS_ENV_FILE,
)

_JOB_WORD = re.compile(r"[^A-Za-z0-9._-]+")


def data_parallel_only(layout: Layout) -> bool:
    return layout.tp == layout.pp == layout.cp == 1


def plan_line(spec: ModelSpec, w: Workload, cluster: Cluster, layout: Layout) -> str:
    """One line naming the plan the files come from."""
    net = cluster.network.key if cluster.network is not None else "one node"
    glob = w.batch * layout.dp * layout.micro_batches
    return (
        f"{spec.name} {w.method} {w.precision}, {cluster.nodes} node(s) x {cluster.gpus_per_node}"
        f" x {cluster.card.name} over {net}; layout {layout.text()}; global batch {glob} x "
        f"{w.seq} tokens"
    )


def header(spec: ModelSpec, w: Workload, cluster: Cluster, layout: Layout, fill: str) -> str:
    """The comment lines every file opens with: the plan, and what to fill in."""
    return (
        f"# Written by `gpuwise plan --emit` for a cluster plan: "
        f"{plan_line(spec, w, cluster, layout)}\n"
        f"# FILL IN: {fill}\n"
    )


def megatron_sh(
    spec: ModelSpec,
    w: Workload,
    cluster: Cluster,
    layout: Layout,
    model_ref: str,
    rdzv: str,
    net_fill: str,
) -> str:
    """megatron.sh: torchrun.sh's launch running Megatron-LM's pretrain_gpt.py instead."""
    fill = ", ".join(
        x
        for x in (f"{CHECKOUT_VAR} (a Megatron-LM checkout, core_v0.16.1)", rdzv, net_fill,
                  "--rotary-base (the model's rope_theta), --data-path instead of --mock-data, "
                  "--load (Megatron's checkpoint), --train-iters, --lr")
        if x
    )  # fmt: skip
    note = (
        "# Megatron needs CUDA_DEVICE_MAX_CONNECTIONS=1 with tensor or context parallel before\n"
        '# Blackwell; extra arguments ("$@") replace the placeholders --train-iters, --lr.\n'
    )
    pre = (
        f'{CHECKOUT_VAR}="${{{CHECKOUT_VAR}:?set {CHECKOUT_VAR} to a Megatron-LM checkout}}"\n'
        "export CUDA_DEVICE_MAX_CONNECTIONS=1\n"
        f"{MODEL_VAR}={shlex.quote(model_ref)}\n"
    )
    groups = megatron_args(spec, w, layout)
    tail = " \\\n    ".join(
        [" ".join(map(shlex.quote, g)) for g in groups] + [f'--tokenizer-model "${MODEL_VAR}" "$@"']
    )
    return torchrun_sh(
        header(spec, w, cluster, layout, fill) + note,
        cluster,
        [f'"${CHECKOUT_VAR}/pretrain_gpt.py"'],
        tail,
        pre,
    )


def cluster_launch_files(
    spec: ModelSpec,
    w: Workload,
    cluster: Cluster,
    layout: Layout,
    *,
    model_ref: str,
    time_s: float | None = None,
) -> dict[str, str]:
    """File name -> text for the cluster plan. ``time_s``: the run's planned time in seconds
    (job.sbatch's ``--time``), None when the plan has none."""
    if w.task != "train":
        raise GpuwiseError(Message("engines.train_only"))
    model_ref = launch_ref(model_ref)
    fix = Message("engines.fix.config")
    _refuse_unsafe(Message("engines.what.models_name"), spec.name, fix)
    _refuse_unsafe(Message("engines.what.model_type"), spec.model_type, fix)
    card_fix = Message("cluster_emit.fix.card_name")
    _refuse_unsafe(Message("cluster_emit.what.card_name"), cluster.card.name, card_fix)
    stage = zero_stage(layout)
    rdzv = "MASTER_ADDR (the first node) when not under Slurm" if cluster.nodes > 1 else ""
    nccl = {"ib": "NCCL_IB_HCA", "roce": "NCCL_IB_HCA, NCCL_IB_GID_INDEX", "socket": ""}
    net_fill = nccl.get(fabric(cluster), "")
    net_fill = (
        f"{net_fill + ', ' if net_fill else ''}NCCL_SOCKET_IFNAME" if cluster.nodes > 1 else ""
    )
    files: dict[str, str] = {}
    if data_parallel_only(layout):
        p = layout_parallel(cluster, layout)
        env = launcher_env(spec, w, p)
        pre = "".join(f"export {k}={shlex.quote(v)}\n" for k, v in env.items())
        pre = (
            "# what `accelerate launch` would set for train.py's Accelerator "
            "(accelerate_config.yaml)\n" + pre + f"{MODEL_VAR}={shlex.quote(model_ref)}\n"
        )
        fill = ", ".join(x for x in (rdzv, net_fill) if x)
        files["torchrun.sh"] = torchrun_sh(
            header(spec, w, cluster, layout, fill), cluster, ["train.py"], f'{MODEL_ARGS} "$@"', pre
        )
        run_it = (
            "nothing here. Run it with torchrun.sh on every node (job.sbatch under Slurm), or\n"
            "# accelerate launch --config_file accelerate_config.yaml --machine_rank K train.py;\n"
            "# the launch.sh named below is the one-machine plan's.\n"
        )
        files["train.py"] = header(spec, w, cluster, layout, run_it) + (
            train_py(spec, w, p, model_ref)
        )
        main = "main_process_ip (the first node), and on node k `--machine_rank k`"
        files[CONFIG_FILE] = header(spec, w, cluster, layout, main) + dump(
            cluster_accelerate_config(spec, w, cluster, layout)
        )
    else:
        problem = titan_problem(w)
        if problem is not None:
            raise GpuwiseError(problem)
        lines, note = titan_module_lines(spec)
        fill = ", ".join(x for x in (rdzv, net_fill, "--hf-assets-path (the model's folder)") if x)
        groups = titan_overrides(spec, w, cluster, layout)
        # the user's arguments before the checkpointing subcommand: tyro gives every argument
        # after a subcommand to that subcommand
        tail = " \\\n    ".join(
            [f'--module "${MODULE_VAR}" --config "${CONFIG_VAR}"']
            + [" ".join(map(shlex.quote, g)) for g in groups[:-1]]
            + ['"$@" ' + shlex.join(groups[-1])]
        )
        files["torchrun.sh"] = torchrun_sh(
            header(spec, w, cluster, layout, fill) + note,
            cluster,
            ["-m", "torchtitan.train"],
            tail,
            lines,
        )
    if megatron_fits(spec, w, layout):
        files["megatron.sh"] = megatron_sh(spec, w, cluster, layout, model_ref, rdzv, net_fill)
    job = _JOB_WORD.sub("-", f"gpuwise-{spec.name}")[:64]
    sbatch_header = header(spec, w, cluster, layout, "--partition / --account if your cluster "
                           "needs them, --cpus-per-task, --time"
                           + (f", {net_fill}" if net_fill else ""))  # fmt: skip
    if "megatron.sh" in files:
        sbatch_header += (
            "# For Megatron-LM, name megatron.sh instead of torchrun.sh in the srun line.\n"
        )
    files["job.sbatch"] = job_sbatch(sbatch_header, cluster, job, time_s)
    if stage is not None and layout.pp == 1 and layout.cp == 1:
        port = int(launch_data()["rendezvous_port"])
        files[HOSTFILE] = hostfile(
            header(spec, w, cluster, layout, "each node's host name"), cluster, layout, port
        )
        if data_parallel_only(layout):  # DeepSpeed's format has no comments: no header
            env = launcher_env(spec, w, layout_parallel(cluster, layout))
            files[DS_ENV_FILE] = "".join(f"{k}={v}\n" for k, v in env.items())
        # JSON has no comments: the header is a key DeepSpeed ignores (it reads the keys it knows)
        cfg = {
            "_gpuwise": {
                "written_by": "gpuwise plan --emit (cluster plan)",
                "plan": plan_line(spec, w, cluster, layout),
                "fill_in": "nothing here; the hosts in hostfile",
            },
            **cluster_ds_config(spec, w, cluster, layout),
        }
        files[DS_CONFIG_FILE] = json.dumps(cfg, indent=2, allow_nan=False) + "\n"
    for name, text in files.items():
        for line in text.split("\n"):
            what = Message("engines.what.line", name=name)
            _refuse_unsafe(what, line, Message("engines.fix.rename_model"))
    return files
