"""Any valid strategy and workload emits files that accelerate (and DeepSpeed) load."""

from __future__ import annotations

import tempfile
from pathlib import Path
from unittest.mock import patch

import pytest
from accelerate.commands.config.config_args import load_config_from_file
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from gpuwise.errors import GpuwiseError
from gpuwise.parallel import MAX_GPUS, STRATEGIES, Parallel, validate_parallel
from gpuwise.workload import METHODS, OPTIMIZERS, PRECISIONS, Workload, validate

from .launcher import emit, launcher_env


@st.composite
def plans(draw):
    strategy = draw(st.sampled_from(list(STRATEGIES)))
    gpus = draw(st.integers(1, MAX_GPUS))
    divisors = [k for k in range(2, gpus) if gpus % k == 0]
    shard = draw(st.sampled_from(divisors)) if strategy == "fsdp-hybrid" and divisors else None
    p = Parallel(strategy, gpus, shard, draw(st.integers(1, 64)))
    w = Workload(
        method=draw(st.sampled_from(METHODS)),
        precision=draw(st.sampled_from(PRECISIONS)),
        batch=draw(st.integers(1, 64)),
        seq=draw(st.sampled_from([128, 2048, 8192])),
        grad_checkpointing=draw(st.booleans()),
        optimizer=draw(st.sampled_from(OPTIMIZERS)),
        lora_rank=draw(st.sampled_from([8, 64])),
    )
    return w, p


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(plans())
def test_every_valid_plan_loads(llama_8b, plan):
    w, p = plan
    try:
        validate(w, llama_8b)
        validate_parallel(p)
    except GpuwiseError:
        assume(False)  # gpuwise refuses it before any file is written
    with tempfile.TemporaryDirectory() as tmp:
        folder = emit(Path(tmp), llama_8b, w, p)
        cfg = load_config_from_file(str(folder / "accelerate_config.yaml"))
        assert cfg.num_processes == p.gpus
        args, env = launcher_env(folder)
        assert int(args.num_processes) == p.gpus
        compile((folder / "train.py").read_text(), "train.py", "exec")
        if p.engine == "deepspeed":
            assert env["ACCELERATE_USE_DEEPSPEED"] == "true"
            ds = pytest.importorskip("deepspeed.runtime.config")
            with (
                patch.object(ds.dist, "get_rank", lambda *a, **k: 0),
                patch.object(ds.dist, "get_world_size", lambda *a, **k: p.gpus),
            ):
                cfg = ds.DeepSpeedConfig(str(folder / "ds_config.json"))
            assert cfg.train_batch_size == w.batch * p.gpus * p.grad_accum
            assert cfg.zero_optimization_stage == p.zero_stage
