"""launch.sh: the accelerate command parses in accelerate's launcher, and its bare torchrun /
deepspeed alternative gives train.py the same engine settings."""

from __future__ import annotations

import os
import stat

import pytest
from accelerate.commands.launch import launch_command_parser
from accelerate.utils import FullyShardedDataParallelPlugin
from torch.distributed.run import get_args_parser

from gpuwise.parallel import STRATEGIES, Parallel, validate_parallel
from gpuwise.workload import Workload

from .launcher import accelerate_command, alternative_command, clean_env, emit, launcher_env


def plan(strategy: str) -> Parallel:
    gpus = 1 if strategy == "single" else 8
    return validate_parallel(
        Parallel(strategy, gpus, 4 if strategy == "fsdp-hybrid" else None, grad_accum=2)
    )


@pytest.mark.parametrize("strategy", STRATEGIES)
def test_accelerate_command_parses(tmp_path, llama_8b, strategy):
    folder = emit(tmp_path, llama_8b, Workload(), plan(strategy), model_ref="meta/Llama 3")
    assert os.stat(folder / "launch.sh").st_mode & stat.S_IXUSR
    args = launch_command_parser().parse_args(accelerate_command(folder))
    assert args.config_file == "accelerate_config.yaml"
    assert args.training_script == "train.py"
    assert args.training_script_args == ["--model", "meta/Llama 3"]  # quoted once, kept whole


@pytest.mark.parametrize("strategy", [s for s in STRATEGIES if not s.startswith("zero")])
def test_torchrun_alternative(tmp_path, llama_8b, strategy):
    p = plan(strategy)
    folder = emit(tmp_path, llama_8b, Workload(grad_checkpointing=True), p)
    env, words = alternative_command(folder)
    assert words[0] == "torchrun"
    targs = get_args_parser().parse_args(words[1:])
    assert targs.standalone
    assert int(targs.nproc_per_node) == p.gpus
    assert targs.training_script == "train.py"
    _, launched = launcher_env(folder)
    assert env["ACCELERATE_MIXED_PRECISION"] == launched["ACCELERATE_MIXED_PRECISION"]
    assert env.get("ACCELERATE_USE_FSDP") == launched.get("ACCELERATE_USE_FSDP")
    if strategy.startswith("fsdp"):
        plugins = []
        for variables in (env, launched):
            with clean_env(**variables):
                plugins.append(FullyShardedDataParallelPlugin())
        fields = (
            "fsdp_version",
            "reshard_after_forward",
            "transformer_cls_names_to_wrap",
            "state_dict_type",
            "activation_checkpointing",
            "cpu_ram_efficient_loading",
        )
        for f in fields:
            assert getattr(plugins[0], f) == getattr(plugins[1], f), f
        assert type(plugins[0].cpu_offload) is type(plugins[1].cpu_offload)
        for key, value in launched.items():
            if key.startswith("PARALLELISM_CONFIG_DP"):
                assert env[key] == value


@pytest.mark.parametrize("strategy", [s for s in STRATEGIES if s.startswith("zero")])
def test_deepspeed_alternative(tmp_path, monkeypatch, llama_8b, strategy):
    deepspeed = pytest.importorskip("deepspeed")
    from accelerate.utils import DeepSpeedPlugin
    from deepspeed.launcher.runner import parse_args

    del deepspeed
    p = plan(strategy)
    folder = emit(tmp_path, llama_8b, Workload(), p)
    env, words = alternative_command(folder)
    assert words[0] == "deepspeed"
    dargs = parse_args(words[1:])
    assert dargs.num_gpus == p.gpus
    assert dargs.user_script == "train.py"
    _, launched = launcher_env(folder)
    assert env["ACCELERATE_USE_DEEPSPEED"] == launched["ACCELERATE_USE_DEEPSPEED"] == "true"
    monkeypatch.chdir(folder)
    configs = []
    for variables in (env, launched):
        with clean_env(**variables):
            configs.append(DeepSpeedPlugin().deepspeed_config)
    assert configs[0] == configs[1]
