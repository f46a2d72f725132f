"""Every strategy's accelerate_config.yaml loads in accelerate 1.15's own loader and launcher,
and the plugins the training process builds from it are the plan's."""

from __future__ import annotations

import itertools

import pytest
import yaml
from accelerate.commands.config.config_args import ClusterConfig, load_config_from_file
from accelerate.utils import DistributedType, FullyShardedDataParallelPlugin
from torch.distributed.fsdp import CPUOffloadPolicy

from gpuwise.parallel import STRATEGIES, Parallel, validate_parallel
from gpuwise.workload import Workload, validate

from .launcher import clean_env, emit, launcher_env


def parallel_for(strategy: str) -> Parallel:
    gpus = 1 if strategy == "single" else 4
    shard = 2 if strategy == "fsdp-hybrid" else None
    return validate_parallel(Parallel(strategy, gpus, shard, grad_accum=3))


GRID = [
    (s, m, prec, ckpt)
    for s, m, prec, ckpt in itertools.product(
        STRATEGIES, ("full", "lora", "qlora"), ("bf16", "amp-bf16"), (False, True)
    )
    if not (m == "qlora" and prec == "amp-bf16")  # validate() rejects it: qlora computes in 16 bit
]

EXPECTED_TYPE = {
    "single": DistributedType.NO,
    "ddp": DistributedType.MULTI_GPU,
    "fsdp": DistributedType.FSDP,
    "fsdp-hybrid": DistributedType.FSDP,
    "fsdp-offload": DistributedType.FSDP,
}


@pytest.mark.parametrize(("strategy", "method", "precision", "ckpt"), GRID)
def test_every_plan_loads_in_accelerate(tmp_path, llama_8b, strategy, method, precision, ckpt):
    w = validate(
        Workload(method=method, precision=precision, grad_checkpointing=ckpt, batch=2), llama_8b
    )
    p = parallel_for(strategy)
    folder = emit(tmp_path, llama_8b, w, p)
    names = {f.name for f in folder.iterdir()}
    assert {"accelerate_config.yaml", "launch.sh", "train.py", "plan.txt"} <= names
    assert ("ds_config.json" in names) == (p.engine == "deepspeed")
    compile((folder / "train.py").read_text(), "train.py", "exec")

    path = folder / "accelerate_config.yaml"
    assert isinstance(yaml.safe_load(path.read_text()), dict)
    cfg = load_config_from_file(str(path))
    assert isinstance(cfg, ClusterConfig)  # unknown keys would have raised
    assert cfg.num_processes == p.gpus
    want = EXPECTED_TYPE.get(strategy, DistributedType.DEEPSPEED)
    assert cfg.distributed_type == want
    if want == DistributedType.DEEPSPEED:
        # precision lives in ds_config.json; accelerate refuses it beside a DeepSpeed file
        assert cfg.mixed_precision is None
        assert cfg.deepspeed_config["deepspeed_config_file"] == "ds_config.json"
        assert cfg.deepspeed_config["zero3_init_flag"] is (p.zero_stage == 3)
    else:
        assert cfg.mixed_precision == ("bf16" if precision == "amp-bf16" else "no")
    if want == DistributedType.FSDP:
        assert cfg.fsdp_config["fsdp_version"] == 2
        assert cfg.fsdp_config["fsdp_offload_params"] is (strategy == "fsdp-offload")
        # train.py checkpoints with transformers (RNG kept), not accelerate's wrappers
        assert cfg.fsdp_config["fsdp_activation_checkpointing"] is False
        assert cfg.fsdp_config["fsdp_transformer_layer_cls_to_wrap"] == "LlamaDecoderLayer"
    else:
        assert cfg.fsdp_config == {}

    args, env = launcher_env(folder)
    assert int(args.num_processes) == p.gpus
    assert env["ACCELERATE_MIXED_PRECISION"] == cfg.mixed_precision or (
        cfg.mixed_precision is None and env["ACCELERATE_MIXED_PRECISION"] == "no"
    )
    if want == DistributedType.FSDP:
        with clean_env(**env):
            plugin = FullyShardedDataParallelPlugin()
        assert plugin.fsdp_version == 2
        assert plugin.reshard_after_forward is True
        assert isinstance(plugin.cpu_offload, CPUOffloadPolicy) == (strategy == "fsdp-offload")
        assert plugin.transformer_cls_names_to_wrap == ["LlamaDecoderLayer"]
        assert plugin.activation_checkpointing is False
        assert plugin.cpu_ram_efficient_loading is True


def test_hybrid_shard_is_accelerates_hsdp(tmp_path, llama_8b):
    """fsdp-hybrid over 8 cards in groups of 4: accelerate's ParallelismConfig is 2 x 4."""
    from accelerate.parallelism_config import ParallelismConfig

    p = validate_parallel(Parallel("fsdp-hybrid", 8, 4))
    folder = emit(tmp_path, llama_8b, Workload(), p)
    args, env = launcher_env(folder)
    assert args.use_parallelism_config
    with clean_env(**env):
        pc = ParallelismConfig()
    assert (pc.dp_replicate_size, pc.dp_shard_size) == (2, 4)
    assert pc.dp_replicate_enabled and pc.dp_shard_enabled
    assert pc.total_size == 8


def test_plain_fsdp_has_no_parallelism_config(tmp_path, llama_8b):
    folder = emit(tmp_path, llama_8b, Workload(), parallel_for("fsdp"))
    args, env = launcher_env(folder)
    assert not args.use_parallelism_config
    assert "ACCELERATE_USE_PARALLELISM_CONFIG" not in env


def test_amp_under_fsdp_reduces_in_fp32_as_planned(tmp_path, llama_8b):
    """accelerate's own policy for mixed_precision bf16 reduces gradients in bf16; the plan (and
    the rank-0 simulation) reduce in fp32, so train.py passes that policy itself."""
    import ast

    import torch
    from torch.distributed.fsdp import MixedPrecisionPolicy

    p = validate_parallel(Parallel("fsdp", 4))
    folder = emit(tmp_path, llama_8b, Workload(precision="amp-bf16", grad_checkpointing=True), p)
    source = (folder / "train.py").read_text()
    tree = ast.parse(source)
    assign = next(
        n for n in tree.body if isinstance(n, ast.Assign) and n.targets[0].id == "SETTINGS"
    )
    settings = ast.literal_eval(assign.value)
    assert settings["reduce_fp32"] and settings["grad_checkpointing"]
    # the policy make_accelerator() builds, under the launcher's environment
    make = next(
        n for n in tree.body if isinstance(n, ast.FunctionDef) and n.name == "make_accelerator"
    )
    namespace = {"SETTINGS": settings, "torch": torch, "Accelerator": lambda **kw: kw}
    exec(compile(ast.Module([make], []), "train.py", "exec"), namespace)
    _, env = launcher_env(folder)
    with clean_env(**env):
        kwargs = namespace["make_accelerator"]()
    policy = kwargs["fsdp_plugin"].mixed_precision_policy
    assert isinstance(policy, MixedPrecisionPolicy)
    assert policy.param_dtype == torch.bfloat16 and policy.reduce_dtype == torch.float32
    assert kwargs["mixed_precision"] == "bf16"
