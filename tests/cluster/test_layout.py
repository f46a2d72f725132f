"""--layout text and the rules a layout must keep on a cluster."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from gpuwise.catalog import load_catalog
from gpuwise.cluster import make_cluster
from gpuwise.cluster.layout import SCHEDULES, SHARDINGS, Layout, layout_problem, parse_layout
from gpuwise.cluster.network import network
from gpuwise.errors import GpuwiseError
from gpuwise.models import load_model
from gpuwise.workload import Workload


@pytest.fixture(scope="module")
def llama8b():
    return load_model("llama-3.1-8b")  # 32 heads, 8 KV heads, MLP 14336, 32 layers


def _cluster(nodes=2, gpus=8):
    card = load_catalog().find("h100-sxm-80gb")
    return make_cluster(card, nodes, gpus, network("ib-ndr") if nodes > 1 else None)


def test_the_documented_example_parses():
    got = parse_layout("tp=8,pp=2,cp=1,shard=fsdp,sp,schedule=interleaved,v=2,mb=16", 64)
    assert got == Layout(8, 2, 1, 4, "fsdp", True, "interleaved", 2, 16)
    assert got.world == 64


def test_auto_and_defaults():
    assert parse_layout("auto", 16) is None and parse_layout(" AUTO ", 16) is None
    assert parse_layout("tp=2", 16) == Layout(tp=2, dp=8)
    assert parse_layout("v=4,pp=2", 16).schedule == "interleaved"  # v implies interleaved
    assert parse_layout("dp=3,tp=2", 16).dp == 3  # an explicit dp is kept, checked later


def test_text_gives_the_layout_back():
    for text in ("tp=8,pp=2,shard=fsdp,sp,v=2,mb=16", "cp=2,shard=hsdp", "pp=4,mb=8"):
        layout = parse_layout(text, 64)
        assert parse_layout(layout.text(), 64) == layout


@pytest.mark.parametrize(
    ("text", "says"),
    [
        ("", "empty"),
        ("tp=2,,pp=2", "empty item"),
        ("tq=2", "unknown name tq"),
        ("tp=2,tp=4", "tp given twice"),
        ("tp", "tp needs a value"),
        ("tp=0", "tp must be a whole number"),
        ("tp=٢", "tp must be a whole number"),
        ("tp=1_0", "tp must be a whole number"),
        ("tp=-2", "tp must be a whole number"),
        ("mb=70000", "from 1 to 65536"),
        ("sp=1", "sp takes no value"),
        ("shard=zero4", "not one of ddp, fsdp, hsdp, zero1, zero2, zero3"),
        ("schedule=gpipe", "not one of 1f1b, interleaved"),
        ("tp=3", "does not divide the 16 GPUs"),
    ],
)
def test_bad_text_is_one_line_naming_it(text, says):
    with pytest.raises(GpuwiseError) as e:
        parse_layout(text, 16)
    assert says in str(e.value) and "\n" not in str(e.value)


_ITEM = st.one_of(
    st.text(max_size=12),
    st.builds(
        "{}={}".format,
        st.sampled_from(["tp", "pp", "cp", "dp", "v", "mb", "shard", "schedule", "sp", "x"]),
        st.one_of(
            st.integers(-3, 3000).map(str),
            st.sampled_from([*SHARDINGS, *SCHEDULES, "", " ", "1e3", "0x10", "²", "\n"]),
            st.text(max_size=5),
        ),
    ),
)


@settings(max_examples=400, deadline=None)
@given(items=st.lists(_ITEM, max_size=6), world=st.integers(1, 512))
def test_any_text_is_a_layout_or_one_line(items, world):
    text = ",".join(items)
    message = ""
    try:
        layout = parse_layout(text, world)
    except GpuwiseError as e:
        layout, message = None, str(e) or "(empty)"
    assert "\n" not in message and "\r" not in message
    if message:
        return
    if layout is not None:
        assert min(layout.tp, layout.pp, layout.cp, layout.dp, layout.micro_batches) >= 1
        assert layout.sharding in SHARDINGS and layout.schedule in SCHEDULES
        if "dp=" not in text.replace(" ", ""):
            assert layout.world == world


@pytest.mark.parametrize(
    ("text", "nodes", "seq", "says"),
    [
        ("tp=8,pp=2", 2, 2048, None),
        ("tp=4,pp=4,v=2,mb=8", 2, 2048, None),
        ("tp=4,cp=2,sp", 2, 8192, None),
        ("tp=8,shard=hsdp", 2, 2048, None),
        ("dp=3", 2, 2048, "= 3 GPUs, but the cluster has 16"),
        ("tp=16", 2, 2048, "divide the 8 GPUs of a node"),
        ("tp=8,pp=2,dp=1", 2, 2048, None),
        ("pp=16", 2, 2048, None),
        ("tp=8,pp=2,v=3,mb=4", 2, 2048, "6 model chunks must divide the 32 layers"),
        ("tp=8,pp=2,v=2,mb=3", 2, 2048, "multiple of pp=2"),
        ("pp=2,schedule=interleaved,mb=4", 2, 2048, "v=2 or more"),
        ("cp=4", 2, 2052, "multiple of 8"),
        ("sp", 2, 2048, "needs tensor parallel"),
        ("pp=2,shard=zero3", 2, 2048, "zero3 cannot run with pipeline parallel"),
        ("shard=hsdp", 1, 2048, "needs --nodes 2"),
    ],
)
def test_layout_rules(llama8b, text, nodes, seq, says):
    cluster = _cluster(nodes)
    layout = parse_layout(text, cluster.world)
    problem = layout_problem(llama8b, Workload(seq=seq), cluster, layout)
    if says is None:
        assert problem is None, str(problem)
    else:
        assert problem is not None and says in str(problem), str(problem)


def test_tensor_parallel_must_divide_heads_and_the_mlp():
    qwen = load_model("qwen2.5-7b")  # 28 heads, 4 KV heads, MLP 18944
    cluster = _cluster(1)
    assert "28 attention heads" in str(layout_problem(qwen, Workload(), cluster, Layout(tp=8)))
    assert layout_problem(qwen, Workload(), cluster, Layout(tp=4, dp=2)) is None
    assert "KV heads" in str(layout_problem(qwen, Workload(), _cluster(1, 7), Layout(tp=7, dp=1)))


def test_pipeline_stages_need_layers(llama8b):
    cluster = _cluster(8)  # 64 GPUs
    problem = layout_problem(llama8b, Workload(), cluster, Layout(pp=64))
    assert "the model has 32" in str(problem)


def test_layouts_plan_training_only(llama8b):
    problem = layout_problem(llama8b, Workload(task="infer"), _cluster(), Layout(dp=16))
    assert "training" in str(problem)
