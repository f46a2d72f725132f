"""ds_config.json parses in DeepSpeed's own config class and in accelerate's DeepSpeedPlugin,
with the plan's stage, offload, batch sizes and precision."""

from __future__ import annotations

import json
from types import SimpleNamespace

import pytest

from gpuwise.parallel import Parallel, validate_parallel
from gpuwise.parallel.zero_buffers import deepspeed_buffers
from gpuwise.workload import Workload, validate

from .launcher import clean_env, emit, launcher_env

deepspeed = pytest.importorskip("deepspeed")

from deepspeed.runtime.config import DeepSpeedConfig  # noqa: E402

ZERO = ("zero1", "zero2", "zero2-offload", "zero3", "zero3-offload")


def parse(monkeypatch, path, world_size: int) -> DeepSpeedConfig:
    """DeepSpeedConfig as rank 0 of ``world_size`` sees it (no process group on the CPU)."""
    import deepspeed.runtime.config as ds_config_module

    monkeypatch.setattr(ds_config_module.dist, "get_rank", lambda *a, **k: 0)
    monkeypatch.setattr(ds_config_module.dist, "get_world_size", lambda *a, **k: world_size)
    return DeepSpeedConfig(str(path))


@pytest.mark.parametrize("strategy", ZERO)
@pytest.mark.parametrize("precision", ["bf16", "fp16", "amp-bf16", "fp32"])
def test_deepspeed_parses_the_plan(tmp_path, monkeypatch, llama_8b, strategy, precision):
    gpus, accum, micro = 4, 5, 3
    w = validate(Workload(precision=precision, batch=micro), llama_8b)
    p = validate_parallel(Parallel(strategy, gpus, grad_accum=accum))
    folder = emit(tmp_path, llama_8b, w, p)
    cfg = parse(monkeypatch, folder / "ds_config.json", gpus)
    assert cfg.world_size == gpus
    assert cfg.zero_optimization_stage == int(strategy[4])
    # DeepSpeed's own batch check: train = micro x accum x world size
    assert cfg.train_batch_size == micro * accum * gpus
    assert cfg.train_micro_batch_size_per_gpu == micro
    assert cfg.gradient_accumulation_steps == accum
    assert cfg.gradient_clipping == 0.0  # off, as the reference step and the torch engines
    zero = cfg.zero_config
    opt_dev = zero.offload_optimizer.device if zero.offload_optimizer else "none"
    par_dev = zero.offload_param.device if zero.offload_param else "none"
    assert str(getattr(opt_dev, "value", opt_dev)) == ("cpu" if "offload" in strategy else "none")
    assert str(getattr(par_dev, "value", par_dev)) == (
        "cpu" if strategy == "zero3-offload" else "none"
    )
    assert cfg.bfloat16_config.enabled is (precision == "bf16")
    assert cfg.float16_config.enabled is (precision == "fp16")
    assert cfg.torch_autocast_enabled is precision.startswith("amp-")
    # the buffers the memory model counts are what DeepSpeed reads, not its defaults
    buffers = deepspeed_buffers(llama_8b, p)
    assert zero.reduce_bucket_size == buffers["reduce_bucket_size"]
    if p.zero_stage == 3:
        assert zero.prefetch_bucket_size == buffers["stage3_prefetch_bucket_size"]
        assert zero.param_persistence_threshold == buffers["stage3_param_persistence_threshold"]
        assert zero.max_live_parameters == buffers["stage3_max_live_parameters"]
    else:
        assert zero.allgather_bucket_size == buffers["allgather_bucket_size"]


@pytest.mark.parametrize("strategy", ZERO)
def test_no_auto_values(tmp_path, llama_8b, strategy):
    p = validate_parallel(Parallel(strategy, 2))
    text = (emit(tmp_path, llama_8b, Workload(), p) / "ds_config.json").read_text()
    assert "auto" not in text
    assert json.loads(text)["zero_optimization"]["stage"] == p.zero_stage


@pytest.mark.parametrize("strategy", ZERO)
def test_buffers_are_what_the_hf_trainer_fills_for_auto(llama_8b, strategy):
    """transformers fills "auto" from the model's hidden size; gpuwise writes those numbers."""
    from transformers.integrations.deepspeed import HfTrainerDeepSpeedConfig

    p = Parallel(strategy, 2)
    auto = {"reduce_bucket_size": "auto", "stage": p.zero_stage}
    if p.zero_stage == 3:
        auto["stage3_prefetch_bucket_size"] = "auto"
        auto["stage3_param_persistence_threshold"] = "auto"
    hf = HfTrainerDeepSpeedConfig({"zero_optimization": auto})
    model = SimpleNamespace(config=SimpleNamespace(hidden_size=llama_8b.hidden_size))
    hf.trainer_config_finalize(SimpleNamespace(get_warmup_steps=lambda n: 0), model, 10)
    ours = deepspeed_buffers(llama_8b, p)
    filled = {k: v for k, v in hf.config["zero_optimization"].items() if k != "stage"}
    assert filled.keys() == auto.keys() - {"stage"}
    for key, value in filled.items():
        assert ours[key] == value, key


@pytest.mark.parametrize("strategy", ZERO)
def test_accelerate_deepspeed_plugin_takes_the_file(tmp_path, monkeypatch, llama_8b, strategy):
    """What the Accelerator in train.py builds from the launcher's variables."""
    from accelerate.utils import DeepSpeedPlugin

    p = validate_parallel(Parallel(strategy, 4, grad_accum=2))
    folder = emit(tmp_path, llama_8b, Workload(grad_checkpointing=True), p)
    _, env = launcher_env(folder)
    monkeypatch.chdir(folder)  # launch.sh runs from its folder; the YAML names ds_config.json
    with clean_env(**env):
        plugin = DeepSpeedPlugin()
    assert plugin.zero_stage == p.zero_stage
    assert plugin.gradient_accumulation_steps == 2
    assert plugin.offload_optimizer_device == ("cpu" if "offload" in strategy else "none")
    assert plugin.offload_param_device == ("cpu" if strategy == "zero3-offload" else "none")
    assert plugin.zero3_init_flag is (p.zero_stage == 3)
    assert plugin.deepspeed_config["bf16"]["enabled"] is True
