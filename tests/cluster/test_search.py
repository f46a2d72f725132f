"""``--layout auto``: legal layouts only, only those that fit, the fastest first, with why."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from gpuwise.catalog import load_catalog, usable_memory
from gpuwise.cluster import make_cluster
from gpuwise.cluster.layout import layout_problem
from gpuwise.cluster.memory import gpu_memory
from gpuwise.cluster.network import network
from gpuwise.cluster.search import Searched, best_layouts, candidates
from gpuwise.cluster.time import cluster_time
from gpuwise.models import load_model
from gpuwise.workload import Workload
from tests.i18n.checks import leftover_english

W8K = Workload(batch=1, seq=8192, precision="amp-bf16", grad_checkpointing=True)


@pytest.fixture(autouse=True)
def _no_user_file(monkeypatch, tmp_path):
    monkeypatch.delenv("GPUWISE_CATALOG", raising=False)
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "none"))


def _cluster(card, nodes, net="ib-ndr", gpn=8):
    c = load_catalog(None).find(card)
    return make_cluster(c, nodes, gpn, network(net) if nodes > 1 else None)


def test_the_best_layouts_fit_are_legal_and_fastest_first():
    spec = load_model("llama-3.1-70b")
    cluster = _cluster("h100-sxm-80gb", 4)
    searched: list[Searched] = []
    best = best_layouts(spec, W8K, cluster, top=3, searched=searched)
    assert len(best) == 3 and searched[0].fit >= 3 and searched[0].legal > searched[0].fit
    usable = usable_memory(cluster.card).bytes
    steps = [t.step_s for _, _, t, _ in best]
    assert steps == sorted(steps)
    for layout, mem, _t, why in best:
        assert layout_problem(spec, W8K, cluster, layout) is None
        assert cluster.gpus_per_node % layout.tp == 0
        assert mem.total <= usable
        assert layout.world == cluster.world
        assert len(why) == 1 and "\n" not in why[0].render()


def test_no_fitting_layout_is_faster_than_the_best():
    spec = load_model("llama-3.1-8b")
    cluster = _cluster("h100-sxm-80gb", 2)
    best = best_layouts(spec, W8K, cluster, top=1)[0][2].step_s
    usable = usable_memory(cluster.card).bytes
    layouts = candidates(spec, W8K, cluster, W8K.batch * cluster.world)
    assert len(layouts) > 10
    for layout in layouts:
        if gpu_memory(spec, W8K, cluster, layout).total <= usable:
            assert cluster_time(spec, W8K, cluster, layout).step_s >= best - 1e-12


def test_every_candidate_runs_the_asked_global_batch():
    spec = load_model("llama-3.1-8b")
    cluster = _cluster("h100-sxm-80gb", 4)
    layouts = candidates(spec, W8K, cluster, 64)
    assert layouts
    for layout in layouts:
        assert layout.dp * layout.micro_batches * W8K.batch == 64
    # a global batch no replica count divides leaves only the layouts it suits
    assert all(lay.dp in (1, 3) or 3 % lay.dp == 0 for lay in candidates(spec, W8K, cluster, 3))


def test_nothing_fits_is_an_empty_answer():
    spec = load_model("llama-3.1-70b")
    assert best_layouts(spec, W8K, _cluster("rtx-4090", 1)) == []


def test_a_pcie_cluster_prefers_less_tensor_parallel_than_nvswitch_would_allow():
    spec = load_model("llama-3.1-8b")
    w = Workload(batch=1, seq=8192, precision="bf16", grad_checkpointing=True)
    best = best_layouts(spec, w, _cluster("rtx-4090", 2, "eth-100"), top=1)
    assert best and best[0][0].tp <= 2  # TP over PCIe without peer-to-peer costs too much


def test_why_reads_in_chinese_without_english_left():
    spec = load_model("llama-3.1-8b")
    best = best_layouts(spec, W8K, _cluster("h100-sxm-80gb", 2))
    assert len(best) == 3
    for layout, _, _, why in best:
        zh = why[0].render("zh-CN")
        assert leftover_english(zh, names=[layout.text(), "MFU", "GiB"]) == [], zh


@settings(max_examples=15, deadline=None)
@given(
    nodes=st.sampled_from([1, 2, 4]),
    gpn=st.sampled_from([2, 4, 8]),
    card=st.sampled_from(["h100-sxm-80gb", "a100-sxm-80gb", "rtx-4090"]),
    batch=st.integers(1, 2),
)
def test_quick_search_keeps_to_legal_fitting_layouts(nodes, gpn, card, batch):
    spec = load_model("llama-3.2-1b")
    w = Workload(batch=batch, seq=4096, precision="bf16", grad_checkpointing=True)
    cluster = _cluster(card, nodes, "roce-200", gpn)
    usable = usable_memory(cluster.card).bytes
    searched: list[Searched] = []
    found = best_layouts(spec, w, cluster, quick=True, searched=searched)
    assert searched[0].legal >= searched[0].fit >= len(found)
    for layout, mem, t, _ in found:
        assert layout_problem(spec, w, cluster, layout) is None and mem.total <= usable
        assert layout.sharding in ("fsdp", "hsdp", "zero1") and layout.schedule == "1f1b"
        assert t.step_s > 0


@pytest.mark.parametrize(
    "model",
    ["mixtral-8x7b", "qwen3-30b-a3b", "gemma-2-9b", "gpt2", "phi-3-mini", "bert-base-uncased"],
)
def test_every_family_gets_a_timed_layout(model):
    spec = load_model(model)
    seq = 512 if model in ("gpt2", "bert-base-uncased") else 4096
    w = Workload(batch=1, seq=seq, precision="bf16", grad_checkpointing=True)
    best = best_layouts(spec, w, _cluster("h100-sxm-80gb", 2), top=2)
    assert best
    for _, _, t, _ in best:
        assert 0 < t.mfu < 1 and t.step_s > 0 and t.tokens_per_s > 0


@pytest.mark.parametrize(("card", "nodes"), [("h100-sxm-80gb", 4), ("rtx-4090", 2)])
def test_counting_what_fits_does_not_change_the_answer(card, nodes):
    spec = load_model("llama-3.1-8b")
    cluster = _cluster(card, nodes, "roce-200")
    counted: list[Searched] = []
    full = best_layouts(spec, W8K, cluster, searched=counted)
    lazy = best_layouts(spec, W8K, cluster)
    assert counted[0].fit >= len(full) == 3
    assert [(a[0], a[2].step_s) for a in full] == [(b[0], b[2].step_s) for b in lazy]
