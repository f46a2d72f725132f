"""Step time of a layout on a cluster: published rows, physics, the pipeline's bubble."""

from __future__ import annotations

import json
import math
import sys
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from gpuwise.catalog import load_catalog
from gpuwise.cluster import make_cluster
from gpuwise.cluster.layout import Layout, layout_problem
from gpuwise.cluster.network import network
from gpuwise.cluster.time import cluster_time, time_data
from gpuwise.errors import GpuwiseError
from gpuwise.models import load_model
from gpuwise.timing.flops import train_flops_per_token
from gpuwise.workload import Workload

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "scripts"))
import cluster_fit  # noqa: E402

#: How far gpuwise's MFU may be from a published row's (ratio), and on average (|log|).
ROW_RATIO = (0.6, 1.6)
MEAN_ABS_ERROR = {"fit": 0.20, "held-out": 0.20}


@pytest.fixture(autouse=True)
def _no_user_file(monkeypatch, tmp_path):
    monkeypatch.delenv("GPUWISE_CATALOG", raising=False)
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "none"))


def _card(name):
    return load_catalog(None).find(name)


def _h100(nodes, net="ib-ndr"):
    return make_cluster(_card("h100-sxm-80gb"), nodes, 8, network(net) if nodes > 1 else None)


W8K = Workload(batch=1, seq=8192, precision="amp-bf16", grad_checkpointing=True)


@pytest.fixture(scope="module")
def errors():
    return cluster_fit.errors()


def test_published_rows_are_within_tolerance_on_both_sets(errors):
    assert len(errors) >= 16
    seen = {"fit": [], "held-out": []}
    for row, ours, published in errors:
        ratio = ours / published
        assert ROW_RATIO[0] <= ratio <= ROW_RATIO[1], (row["id"], ours, published)
        seen[row["split"]].append(abs(ratio - 1))
    for split, errs in seen.items():
        assert len(errs) >= 8, split  # the loop had rows to check
        assert sum(errs) / len(errs) <= MEAN_ABS_ERROR[split], (split, errs)


def test_published_rows_carry_their_source_and_words():
    data = json.loads(cluster_fit.ROWS.read_text(encoding="utf-8"))
    assert data["not_found"]
    for row in data["rows"]:
        assert row["url"].startswith("https://"), row["id"]
        assert row["reported"] and row["source"] and row["differences"]
        assert row["split"] in ("fit", "held-out", "reference")


def test_the_range_covers_the_fit_rows(errors):
    r = time_data()["range"]["value"]
    assert sum(row["split"] == "fit" for row, _, _ in errors) >= 8
    for row, ours, published in errors:
        if row["split"] == "fit":
            assert r["low"] - 1e-9 <= published / ours <= r["high"] + 1e-9, row["id"]


def test_the_fitted_constant_is_what_the_fit_rows_give():
    # the grid's optimum (scripts/cluster_fit.py --fit): no better a step of 0.01 either side
    scale = time_data()["engine_matmul_scale"]["value"]
    loss, ratios = cluster_fit.loss_at(scale)
    assert loss <= cluster_fit.loss_at(scale - 0.01)[0]
    assert loss <= cluster_fit.loss_at(scale + 0.01)[0]
    r = time_data()["range"]["value"]
    assert r["low"] == pytest.approx(ratios[0], abs=0.011)
    assert r["high"] == pytest.approx(ratios[-1], abs=0.011)


def test_a_step_is_never_faster_than_its_flops_at_the_peak():
    spec = load_model("llama-3.1-8b")
    for nodes in (1, 2, 4):
        cluster = _h100(nodes)
        layout = Layout(tp=2, dp=4 * nodes, sharding="fsdp", micro_batches=4)
        t = cluster_time(spec, W8K, cluster, layout)
        flops = train_flops_per_token(spec, W8K).total * t.step_tokens
        assert t.step_s >= flops / (cluster.world * 989.4e12)
        assert 0 < t.mfu < 1


def test_the_step_is_the_sum_of_its_parts():
    spec = load_model("llama-3.1-70b")
    t = cluster_time(
        spec,
        W8K,
        _h100(4),
        Layout(tp=8, pp=4, sharding="zero1", sequence_parallel=True, micro_batches=8),
    )
    parts = (
        t.compute_s
        + t.tp_comm_s
        + t.cp_comm_s
        + t.pp_p2p_s
        + t.pp_bubble_s
        + t.dp_comm_s
        + t.optimizer_s
    )
    assert t.step_s == pytest.approx(parts)
    assert t.tokens_per_s == pytest.approx(t.step_tokens / t.step_s)
    assert t.tokens_per_s_low < t.tokens_per_s < t.tokens_per_s_high


@pytest.mark.parametrize("sharding", ["ddp", "fsdp", "zero1", "zero2", "hsdp"])
def test_more_nodes_never_cost_less_data_parallel_communication(sharding):
    spec = load_model("llama-3.1-8b")
    last = -1.0
    for nodes in (1, 2, 4, 8, 16, 64):
        if sharding == "hsdp" and nodes == 1:
            continue
        t = cluster_time(
            spec, W8K, _h100(nodes, "eth-100"), Layout(dp=8 * nodes, sharding=sharding)
        )
        assert t.dp_comm_s >= last - 1e-12, (sharding, nodes)
        last = t.dp_comm_s


def test_a_slower_network_is_never_faster():
    spec = load_model("llama-3.1-8b")
    layout = Layout(dp=32, sharding="fsdp", micro_batches=2)
    steps = [
        cluster_time(spec, W8K, _h100(4, net), layout).step_s
        for net in ("ib-ndr", "roce-200", "eth-100", "eth-25", "eth-10")
    ]
    assert steps == sorted(steps)
    assert steps[-1] > 1.5 * steps[0]  # 10 GbE starves an 8B model's FSDP gathers


def test_the_bubble_is_pp_minus_one_over_v_micro_batch_times():
    spec = load_model("llama-3.1-70b")
    cluster = _h100(2)
    one = cluster_time(spec, W8K, cluster, Layout(tp=8, pp=2, micro_batches=8))
    per_mb = (one.step_s - one.pp_bubble_s - one.dp_comm_s - one.optimizer_s) / 8
    assert one.pp_bubble_s == pytest.approx(per_mb * 1)
    inter = cluster_time(
        spec,
        W8K,
        cluster,
        Layout(tp=8, pp=2, schedule="interleaved", virtual_stages=2, micro_batches=8),
    )
    assert inter.pp_bubble_s < one.pp_bubble_s
    assert inter.pp_p2p_s > one.pp_p2p_s  # twice the stage boundaries


def test_tensor_parallel_splits_compute_but_small_gemms_run_less_efficiently():
    spec = load_model("llama-3.1-8b")
    w = Workload(batch=1, seq=2048, precision="amp-bf16")
    cluster = _h100(1)
    base = cluster_time(spec, w, cluster, Layout(tp=1, dp=8)).compute_s
    for tp in (2, 4, 8):
        split = cluster_time(spec, w, cluster, Layout(tp=tp, dp=8 // tp)).compute_s
        assert base / tp < split < base
    t8 = cluster_time(spec, w, cluster, Layout(tp=8))
    assert t8.tp_comm_s > 0 and t8.notes


def test_pcie_cards_pay_more_for_tensor_parallel_than_nvswitch():
    spec = load_model("llama-3.1-8b")
    w = Workload(batch=1, seq=4096, precision="bf16")
    h100 = cluster_time(spec, w, _h100(1), Layout(tp=4, dp=2))
    rtx = make_cluster(_card("rtx-4090"), 1, 8, None)
    r = cluster_time(spec, w, rtx, Layout(tp=4, dp=2))
    assert r.tp_comm_s / r.compute_s > 5 * h100.tp_comm_s / h100.compute_s


def test_context_parallel_hides_behind_attention_on_nvswitch():
    spec = load_model("llama-3.1-8b")
    w = Workload(batch=1, seq=65536, precision="amp-bf16", grad_checkpointing=True)
    t = cluster_time(spec, w, _h100(1), Layout(cp=8, sharding="fsdp"))
    assert t.cp_comm_s == 0.0


def test_a_card_without_a_rate_is_one_line():
    from gpuwise.record import replace

    mystery = replace(
        _card("h100-sxm-80gb"),
        bf16_tensor_tflops=None,
        fp16_tensor_tflops=None,
        architecture="Unknown",
        slug="mystery",
        name="Mystery",
    )
    cluster = make_cluster(mystery, 1, 8, None)
    with pytest.raises(GpuwiseError) as e:
        cluster_time(load_model("llama-3.1-8b"), W8K, cluster, Layout(dp=8))
    assert "\n" not in str(e.value) and "Mystery" in str(e.value)


@settings(max_examples=60, deadline=None)
@given(
    nodes=st.sampled_from([1, 2, 4, 8]),
    tp=st.sampled_from([1, 2, 4, 8]),
    pp=st.sampled_from([1, 2, 4]),
    cp=st.sampled_from([1, 2]),
    sharding=st.sampled_from(["ddp", "fsdp", "hsdp", "zero1", "zero2", "zero3"]),
    mb=st.integers(1, 16),
    sp=st.booleans(),
    net=st.sampled_from(["ib-ndr", "roce-200", "eth-100", "eth-10"]),
    card=st.sampled_from(["h100-sxm-80gb", "rtx-4090", "a100-sxm-80gb"]),
)
def test_every_legal_layout_gives_finite_positive_times(
    nodes, tp, pp, cp, sharding, mb, sp, net, card
):
    spec = load_model("llama-3.1-8b")
    world = nodes * 8
    if world % (tp * pp * cp):
        return
    cluster = make_cluster(_card(card), nodes, 8, network(net) if nodes > 1 else None)
    layout = Layout(
        tp=tp,
        pp=pp,
        cp=cp,
        dp=world // (tp * pp * cp),
        sharding=sharding,
        sequence_parallel=sp and tp > 1,
        micro_batches=mb,
    )
    if layout_problem(spec, W8K, cluster, layout) is not None:
        return
    t = cluster_time(spec, W8K, cluster, layout)
    for name in (
        "step_s",
        "compute_s",
        "tp_comm_s",
        "cp_comm_s",
        "pp_p2p_s",
        "pp_bubble_s",
        "dp_comm_s",
        "tokens_per_s",
        "mfu",
    ):
        value = getattr(t, name)
        assert math.isfinite(value) and value >= 0, name
    assert t.step_s > 0 and t.mfu < 1


def test_more_micro_batches_shrink_the_bubbles_share():
    spec = load_model("llama-3.1-70b")
    cluster = _h100(4)
    shares = []
    for mb in (4, 8, 16, 32):
        t = cluster_time(spec, W8K, cluster, Layout(tp=8, pp=4, micro_batches=mb))
        shares.append(t.pp_bubble_s / t.step_s)
    assert shares == sorted(shares, reverse=True) and shares[-1] < shares[0] / 4


def test_nodes_without_a_network_are_one_line():
    from gpuwise.cluster import Cluster

    cluster = Cluster(_card("h100-sxm-80gb"), 2, 8, None, 0)
    with pytest.raises(GpuwiseError) as e:
        cluster_time(load_model("llama-3.1-8b"), W8K, cluster, Layout(dp=16))
    assert "--network" in str(e.value) and "\n" not in str(e.value)
