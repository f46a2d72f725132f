"""accelerate_config.yaml for a plan, and the environment ``accelerate launch`` derives from it.

Keys as accelerate 1.15 reads them: ``commands/config/config_args.py`` (ClusterConfig fields),
``commands/config/cluster.py`` (what ``accelerate config`` writes for FSDP2, DeepSpeed with a
config file, and the parallelism config), ``utils/launch.py`` (``prepare_multi_gpu_env`` and
``prepare_deepspeed_cmd_env``: the variables the launcher sets from them) and
``utils/dataclasses.py`` (``FullyShardedDataParallelPlugin`` and ``DeepSpeedPlugin``, which read
those variables in the training process).
"""

from __future__ import annotations

from gpuwise.engines.layers import layer_class
from gpuwise.models.spec import ModelSpec
from gpuwise.parallel import Parallel
from gpuwise.workload import Workload

#: gpuwise precision -> accelerate's mixed_precision (autocast). Pure bf16/fp16 build the model
#: in that dtype and need no autocast.
MIXED_PRECISION = {"bf16": "no", "fp16": "no", "amp-bf16": "bf16", "amp-fp16": "fp16", "fp32": "no"}

DS_CONFIG_FILE = "ds_config.json"


def distributed_type(p: Parallel) -> str:
    if p.engine == "deepspeed":
        return "DEEPSPEED"
    if p.strategy.startswith("fsdp"):
        return "FSDP"
    return "MULTI_GPU" if p.strategy == "ddp" else "NO"


def fsdp_config(spec: ModelSpec, w: Workload, p: Parallel) -> dict[str, object]:
    """FSDP2 settings (fsdp_version 2): full shard, CPUOffloadPolicy for fsdp-offload."""
    cfg: dict[str, object] = {
        "fsdp_version": 2,
        "fsdp_reshard_after_forward": True,
        "fsdp_offload_params": p.offloads("weights"),
        "fsdp_auto_wrap_policy": "TRANSFORMER_BASED_WRAP",
    }
    cls = layer_class(spec.model_type)
    if cls is not None:
        cfg["fsdp_transformer_layer_cls_to_wrap"] = cls
    cfg["fsdp_state_dict_type"] = "SHARDED_STATE_DICT"
    # rank 0 reads the checkpoint, the others start empty; the launcher insists on
    # sync_module_states with it (utils/launch.py), which FSDP2 itself ignores
    cfg["fsdp_cpu_ram_efficient_loading"] = True
    cfg["fsdp_sync_module_states"] = True
    # off: accelerate's FSDP2 wrappers recompute without the RNG state (preserve_rng_state=False),
    # so dropout would draw new masks; train.py uses transformers' non-reentrant checkpointing
    cfg["fsdp_activation_checkpointing"] = False
    return cfg


def parallelism_config(p: Parallel) -> dict[str, object]:
    """HSDP for fsdp-hybrid: accelerate 1.15 builds it from dp_replicate x dp_shard (FSDP2)."""
    if p.strategy != "fsdp-hybrid":
        return {}
    shard = p.shard_group
    return {
        "parallelism_config_dp_replicate_size": p.gpus // shard,
        "parallelism_config_dp_shard_size": shard,
        "parallelism_config_tp_size": 1,
        "parallelism_config_cp_size": 1,
    }


def accelerate_config(spec: ModelSpec, w: Workload, p: Parallel) -> dict[str, object]:
    """The mapping accelerate_config.yaml holds."""
    kind = distributed_type(p)
    cfg: dict[str, object] = {
        "compute_environment": "LOCAL_MACHINE",
        "debug": False,
        "distributed_type": kind,
    }
    if kind == "DEEPSPEED":
        # with a DeepSpeed config file, precision, stage, offload, accumulation and clipping
        # live in that file: accelerate refuses them here (DeepSpeedPlugin._deepspeed_config_checks)
        cfg["deepspeed_config"] = {
            "deepspeed_config_file": DS_CONFIG_FILE,
            "zero3_init_flag": p.zero_stage == 3,
        }
    else:
        cfg["mixed_precision"] = MIXED_PRECISION[w.precision]
    if kind == "FSDP":
        cfg["fsdp_config"] = fsdp_config(spec, w, p)
        par = parallelism_config(p)
        if par:
            cfg["parallelism_config"] = par
    cfg.update(
        {
            "machine_rank": 0,
            "main_training_function": "main",
            "num_machines": 1,
            "num_processes": p.gpus,
            "gpu_ids": "all",
            "rdzv_backend": "static",
            "same_network": True,
            "use_cpu": False,
        }
    )
    return cfg


def launcher_env(spec: ModelSpec, w: Workload, p: Parallel) -> dict[str, str]:
    """The variables ``accelerate launch --config_file accelerate_config.yaml`` sets that the
    Accelerator in train.py reads: what a bare ``torchrun`` / ``deepspeed`` launch must set."""
    if p.engine == "deepspeed":
        return {
            "ACCELERATE_USE_DEEPSPEED": "true",
            "ACCELERATE_DEEPSPEED_CONFIG_FILE": DS_CONFIG_FILE,
            "ACCELERATE_DEEPSPEED_ZERO3_INIT": str(p.zero_stage == 3).lower(),
            "ACCELERATE_MIXED_PRECISION": "no",
        }
    env = {"ACCELERATE_MIXED_PRECISION": MIXED_PRECISION[w.precision]}
    if distributed_type(p) != "FSDP":
        return env
    fsdp = fsdp_config(spec, w, p)
    env["ACCELERATE_USE_FSDP"] = "true"
    names = {
        "fsdp_version": "FSDP_VERSION",
        "fsdp_reshard_after_forward": "FSDP_RESHARD_AFTER_FORWARD",
        "fsdp_offload_params": "FSDP_OFFLOAD_PARAMS",
        "fsdp_auto_wrap_policy": "FSDP_AUTO_WRAP_POLICY",
        "fsdp_transformer_layer_cls_to_wrap": "FSDP_TRANSFORMER_CLS_TO_WRAP",
        "fsdp_state_dict_type": "FSDP_STATE_DICT_TYPE",
        "fsdp_cpu_ram_efficient_loading": "FSDP_CPU_RAM_EFFICIENT_LOADING",
        "fsdp_sync_module_states": "FSDP_SYNC_MODULE_STATES",
        "fsdp_activation_checkpointing": "FSDP_ACTIVATION_CHECKPOINTING",
    }
    for key, var in names.items():
        if key in fsdp:
            value = fsdp[key]
            env[var] = str(value).lower() if isinstance(value, bool) else str(value)
    par = parallelism_config(p)
    if par:
        env["ACCELERATE_USE_PARALLELISM_CONFIG"] = "true"
        for key, value in par.items():
            env[key.upper()] = str(value)
    return env
