"""Per-GPU memory of a cluster layout."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from gpuwise.catalog import load_catalog
from gpuwise.cluster import make_cluster
from gpuwise.cluster.layout import Layout
from gpuwise.cluster.memory import (
    _activations,
    gpu_memory,
    in_flight,
    stage_layers,
    stage_memory,
)
from gpuwise.cluster.network import network
from gpuwise.memory.rank import per_rank_memory
from gpuwise.models import load_model
from gpuwise.parallel import Parallel
from gpuwise.workload import Workload

GIB = 1 << 30


@pytest.fixture(scope="module")
def h100():
    return load_catalog().find("h100-sxm-80gb")


def _cluster(card, nodes=1, gpus=8):
    return make_cluster(card, nodes, gpus, network("ib-ndr") if nodes > 1 else None)


@pytest.mark.parametrize(
    ("sharding", "strategy"),
    [("ddp", "ddp"), ("fsdp", "fsdp"), ("zero1", "zero1"), ("zero2", "zero2"), ("zero3", "zero3")],
)
@pytest.mark.parametrize("model", ["llama-3.1-8b", "qwen2.5-0.5b"])
def test_without_model_parallel_it_is_todays_strategy(h100, sharding, strategy, model):
    spec = load_model(model)
    w = Workload(seq=1024, batch=2)
    got = gpu_memory(
        spec, w, _cluster(h100, 1, 4), Layout(dp=4, sharding=sharding, micro_batches=2)
    )
    today = per_rank_memory(spec, w, Parallel(strategy, 4, None, 2))
    assert got.total == today.required_bytes
    assert got.weights == today.breakdown["weights"]
    assert got.optimizer == today.breakdown["optimizer"]


def test_hsdp_is_todays_hybrid_sharding_within_a_node(h100):
    spec = load_model("qwen2.5-0.5b")
    w = Workload(seq=512)
    got = gpu_memory(spec, w, _cluster(h100, 2, 4), Layout(dp=8, sharding="hsdp"))
    today = per_rank_memory(spec, w, Parallel("fsdp-hybrid", 8, 4, 1))
    assert got.total == today.required_bytes


def test_stage_layers_and_in_flight():
    assert [stage_layers(80, 3, s) for s in range(3)] == [27, 27, 26]
    one = Layout(pp=4, micro_batches=8)
    assert [in_flight(one, s) for s in range(4)] == [4, 3, 2, 1]
    assert in_flight(Layout(pp=4, micro_batches=2), 0) == 2  # never more than m
    inter = Layout(pp=4, micro_batches=8, schedule="interleaved", virtual_stages=2)
    # Megatron: (p - i - 1) * 2 + (v - 1) * p warm-up chunks, + 1
    assert [in_flight(inter, s) for s in range(4)] == [11, 9, 7, 5]


def test_tensor_parallel_splits_weights_and_sequence_parallel_the_residual_stream(h100):
    spec = load_model("llama-3.1-8b")
    w = Workload(seq=4096)
    c = _cluster(h100)
    tp1 = stage_memory(spec, w, c, Layout(tp=1, cp=1, pp=1, dp=8), 0)
    tp8 = gpu_memory(spec, w, c, Layout(tp=8))
    tp8sp = gpu_memory(spec, w, c, Layout(tp=8, sequence_parallel=True))
    # bf16 weights: 8.03 B parameters x 2 bytes / 8; one micro-batch: its peak comes before
    # any gradient, two: the second's forward runs beside the first's gradients
    assert tp8.weights == pytest.approx(spec.params * 2 / 8, rel=0.001)
    assert tp8.gradients == 0
    two = gpu_memory(spec, w, c, Layout(tp=8, micro_batches=2))
    # ... and torch's vocabulary-parallel embedding leaves its whole table's gradient
    table = spec.vocab_size * spec.hidden_size * 2
    assert two.gradients == pytest.approx(spec.params * 2 / 8 + table * 7 / 8, rel=0.001)
    assert tp8sp.activations < tp8.activations < tp1.activations
    assert tp8sp.weights == tp8.weights


def test_pipeline_first_stage_holds_most_micro_batches(h100):
    spec = load_model("llama-3.1-70b")
    w = Workload(seq=4096)
    c = _cluster(h100, 4)
    layout = Layout(tp=8, pp=4, micro_batches=8, sharding="zero1")
    stages = [stage_memory(spec, w, c, layout, s) for s in range(4)]
    assert [s.in_flight for s in stages] == [4, 3, 2, 1]
    assert stages[0].activations > stages[1].activations > stages[2].activations
    worst = gpu_memory(spec, w, c, layout)
    assert worst.total == max(s.total for s in stages)
    # the parameters of a stage: ~70.6 B / (4 stages x 8) bf16, the embeddings on the first
    assert 4.0 * GIB < stages[0].weights < 4.6 * GIB


def test_checkpointing_keeps_only_layer_inputs(h100):
    spec = load_model("llama-3.1-70b")
    c = _cluster(h100, 4)
    layout = Layout(tp=8, pp=4, micro_batches=8, sharding="zero1", sequence_parallel=True)
    plain = gpu_memory(spec, Workload(seq=4096), c, layout)
    ckpt = gpu_memory(spec, Workload(seq=4096, grad_checkpointing=True), c, layout)
    assert ckpt.activations < plain.activations / 3


def test_context_parallel_divides_the_sequence(h100):
    spec = load_model("llama-3.1-8b")
    c = _cluster(h100)
    w = Workload(seq=16384)
    cp1 = gpu_memory(spec, w, c, Layout(tp=4, dp=2, sharding="fsdp", sequence_parallel=True))
    cp2 = gpu_memory(spec, w, c, Layout(tp=4, cp=2, sharding="fsdp", sequence_parallel=True))
    assert cp2.activations < 0.6 * cp1.activations


def test_mixed_precision_computes_as_the_16_bit_model_without_weight_copies(h100):
    """Megatron-LM and torchtitan keep no autocast copies of the weights: a layer under amp
    keeps what the bf16 layer keeps, per micro-batch, so many micro-batches in flight do not
    multiply a weight copy (B found 19 GiB of them on a 70B pp=8 layout)."""
    spec = load_model("llama-3.1-70b")
    c = _cluster(h100, 8)
    layout = Layout(tp=8, pp=8, micro_batches=8, sharding="fsdp", sequence_parallel=True)
    amp_w = Workload(seq=8192, precision="amp-bf16", grad_checkpointing=True)
    bf16_w = Workload(seq=8192, grad_checkpointing=True)
    # stage 0 before its first backward: 8 micro-batches in flight, no gradients yet
    amp = stage_memory(spec, amp_w, c, layout, 0)
    bf16 = stage_memory(spec, bf16_w, c, layout, 0)
    assert amp.in_flight == bf16.in_flight == 8
    assert _activations(spec, amp_w, layout) == _activations(spec, bf16_w, layout)
    # 8 micro-batches x 10 layers' inputs (8192 x 8192 x 2 bytes / 8) + the running layer
    assert bf16.activations < 3 * GIB
    # fp32 weights, gradients and states under amp: the optimizer step is its peak
    worst = gpu_memory(spec, amp_w, c, layout)
    assert worst.temporaries > 0 and worst.activations == 0 and worst.total < 30 * GIB


_SHAPES = st.fixed_dictionaries(
    {
        "tp": st.sampled_from([1, 2, 4, 8]),
        "pp": st.sampled_from([1, 2, 4]),
        "m": st.sampled_from([1, 2, 4, 8]),
        "sharding": st.sampled_from(["ddp", "fsdp", "zero1", "zero3"]),
        "method": st.sampled_from(["full", "lora"]),
        "precision": st.sampled_from(["bf16", "amp-bf16"]),
        "seq": st.sampled_from([512, 2048, 8192]),
    }
)


@settings(max_examples=80, deadline=None)
@given(shape=_SHAPES)
def test_memory_moves_the_way_each_knob_promises(h100, shape):
    """Sequence parallel and checkpointing never add memory; a longer sequence never takes
    less; the parts always sum to the total."""
    spec = load_model("llama-3.1-8b")
    c = _cluster(h100, 4)  # 32 GPUs
    tp, pp = shape["tp"], shape["pp"]
    sharding = "zero1" if pp > 1 and shape["sharding"] == "zero3" else shape["sharding"]
    layout = Layout(tp=tp, pp=pp, dp=32 // (tp * pp), sharding=sharding, micro_batches=shape["m"])
    w = Workload(seq=shape["seq"], method=shape["method"], precision=shape["precision"])
    base = gpu_memory(spec, w, c, layout)
    parts = (base.weights, base.gradients, base.optimizer, base.activations, base.temporaries)
    assert base.total == sum(parts) + base.comm_buffers + base.cuda_context
    assert gpu_memory(spec, w.with_(grad_checkpointing=True), c, layout).total <= base.total
    if tp > 1:
        sp = gpu_memory(spec, w, c, Layout(**{**_fields(layout), "sequence_parallel": True}))
        assert sp.total <= base.total
    if shape["seq"] < 8192:
        longer = gpu_memory(spec, w.with_(seq=shape["seq"] * 4), c, layout)
        assert longer.total >= base.total


def _fields(layout):
    from gpuwise.record import fields

    return {name: getattr(layout, name) for name in fields(layout)}
