"""One rank of a multi-card job, simulated: exact on fake tensors, and what DDP / FSDP2 keep."""

from __future__ import annotations

import json

import pytest

pytest.importorskip("torch")
pytest.importorskip("transformers")

from gpuwise.errors import GpuwiseError
from gpuwise.models.build import spec_from_config
from gpuwise.models.resolve import resolve
from gpuwise.parallel import Parallel
from gpuwise.probe.simulate import simulate
from gpuwise.probe.simulate_parallel import simulate_parallel
from gpuwise.workload import Workload

TINY = "tests/accuracy/configs/tiny-llama.json"


@pytest.fixture(scope="module")
def tiny():
    found = resolve(TINY)
    spec = spec_from_config(found.config, name=found.name, source=found.source, where=found.where)
    return found.config, spec


@pytest.mark.parametrize(
    ("strategy", "w"),
    [
        ("fsdp", Workload(precision="amp-bf16", batch=1, seq=64)),
        ("ddp", Workload(method="lora", batch=1, seq=64)),
    ],
)
def test_fake_tensors_give_the_peak_real_tensors_give(tiny, strategy, w):
    config, spec = tiny
    fake = simulate_parallel(config, spec, w, Parallel(strategy, 2))
    real = simulate_parallel(config, spec, w, Parallel(strategy, 2), real_tensors=True)
    assert fake.peak_allocated_bytes == real.peak_allocated_bytes
    assert fake.detail == real.detail


def test_ddp_keeps_one_more_gradient_copy_than_one_card(tiny):
    config, spec = tiny
    w = Workload(batch=1, seq=32)  # bf16 full: the peak is the optimizer step
    one = simulate(config, spec, w)
    ddp = simulate_parallel(config, spec, w, Parallel("ddp", 4))
    view = simulate_parallel(config, spec, w, Parallel("ddp", 4), bucket_view=True)
    assert one.peak_phase == ddp.peak_phase == "optimizer"
    assert ddp.detail["gradients.bucket"] == 2 * spec.params
    assert ddp.peak_allocated_bytes == one.peak_allocated_bytes + 2 * spec.params
    # with gradient_as_bucket_view the gradients are the buckets: the step holds no extra copy
    # (the backward, with the buckets and the logits' gradient, may now be the peak)
    assert one.peak_allocated_bytes <= view.peak_allocated_bytes < ddp.peak_allocated_bytes
    assert sum(ddp.breakdown.values()) == ddp.peak_allocated_bytes


def test_fsdp_shards_weights_and_states_and_gathers_the_root(tiny):
    config, spec = tiny
    w = Workload(batch=2, seq=128)  # bf16 full: the peak is the start of backward
    sims = {n: simulate_parallel(config, spec, w, Parallel("fsdp", n)) for n in (2, 4)}
    for n, sim in sims.items():
        assert sim.peak_phase == "backward"
        assert sim.detail["weights"] == pytest.approx(2 * spec.params / n, abs=1024)
        assert sim.detail["optimizer"] == pytest.approx(4 * spec.params / n, abs=1024)
        # the root (tied embedding + final norm) is gathered again for the backward
        embedding = spec.vocab_size * spec.hidden_size
        assert sim.detail["weights.unsharded"] == 2 * (embedding + spec.hidden_size)
    assert sims[2].peak_allocated_bytes > sims[4].peak_allocated_bytes


def test_deepspeed_and_offload_are_refused(tiny):
    config, spec = tiny
    with pytest.raises(GpuwiseError, match=r"DeepSpeed.*CUDA"):
        simulate_parallel(config, spec, Workload(), Parallel("zero3", 4))
    with pytest.raises(GpuwiseError, match="host RAM"):
        simulate_parallel(config, spec, Workload(), Parallel("fsdp-offload", 2))


def test_cli_deepspeed_is_one_line_exit_2(cli):
    r = cli("probe", TINY, "--simulate", "--strategy", "zero2", "--gpus", "2")
    assert r.code == 2
    assert len(r.err.strip().splitlines()) == 1 and "DeepSpeed" in r.err


def test_cli_json_carries_the_rank_peak_and_the_analytic_figure(cli):
    r = cli(
        "probe", TINY, "--simulate", "--strategy", "fsdp", "--gpus", "2",
        "--batch", "1", "--seq", "64", "--json",
    )  # fmt: skip
    assert r.code == 0, r.err
    doc = json.loads(r.out)
    assert doc["parallel"] == {"strategy": "fsdp", "gpus": 2, "shard_size": None}
    memory = doc["memory"]
    breakdown = {k: v for k, v in memory["breakdown"].items() if k != "overhead"}
    assert sum(breakdown.values()) == memory["peak_allocated_bytes"]
    assert sum(memory["detail"].values()) == memory["peak_allocated_bytes"]
    analytic = doc["analytic"]["peak_allocated_bytes"]
    assert doc["error"] == pytest.approx(
        (analytic - memory["peak_allocated_bytes"]) / memory["peak_allocated_bytes"]
    )
