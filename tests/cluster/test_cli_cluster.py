"""`gpuwise plan --nodes M --gpus N --network NET --layout ...`: JSON, tables, bad flags."""

from __future__ import annotations

import json

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.checks import command_loads_none_of, one_line
from tests.i18n.checks import leftover_english, table_lines_aligned

BASE = ["plan", "llama-3.1-70b", "--gpu", "h100-sxm-80gb", "--seq", "4096"]
CLUSTER = ["--nodes", "4", "--gpus", "8", "--network", "ib-ndr"]


def test_json_has_each_cards_cluster(cli):
    r = cli(*BASE, *CLUSTER, "--layout", "tp=8,pp=4,mb=8,shard=zero1,sp", "--json")
    assert r.code == 0, r.err
    c = r.json()["cards"][0]["cluster"]
    assert (c["nodes"], c["gpus_per_node"], c["world"], c["network"]) == (4, 8, 32, "ib-ndr")
    assert c["layout"]["tp"] == 8 and c["layout"]["pp"] == 4 and c["layout"]["dp"] == 1
    m = c["per_gpu_memory"]
    parts = ("weights", "gradients", "optimizer", "activations", "temporaries")
    parts += ("comm_buffers", "cuda_context")
    assert m["total"] == sum(m[k] for k in parts)
    assert m["fits"] == (m["total"] <= m["usable"]) and m["stage"] == 0 and m["in_flight"] == 4
    assert c["time"]["step_s"] > 0 and 0 < c["time"]["mfu"] < 1
    # the card's verdict is the cluster's; nothing of a one-machine plan is left to misread
    doc = r.json()
    card = doc["cards"][0]
    assert card["fits"] == m["fits"] and card["headroom_bytes"] == m["usable"] - m["total"]
    assert doc["memory"] is None and doc["parallel"] is None and doc["advice"] is None
    assert card["time"] is None and card["memory"] is None


def test_a_layout_too_big_says_what_makes_it_fit(cli):
    r = cli(
        *BASE[:-1], "8192", *CLUSTER[:1], "2", *CLUSTER[2:], "--layout", "tp=8,shard=fsdp", "--json"
    )
    c = r.json()["cards"][0]["cluster"]
    assert not c["per_gpu_memory"]["fits"]
    assert c["changes"], "checkpointing makes it fit"
    for change in c["changes"]:
        assert change["total"] <= c["per_gpu_memory"]["usable"]


def test_tables_in_english_and_chinese(cli):
    args = [*BASE, *CLUSTER, "--layout", "tp=8,pp=4,mb=8,shard=zero1,sp"]
    en = cli(*args)
    assert en.code == 0 and "per GPU" in en.out and "tp=8,pp=4" in en.out
    zh = cli(*args, "--lang", "zh")
    assert zh.code == 0 and "每个 GPU" in zh.out
    assert not table_lines_aligned(zh.out)
    assert not leftover_english(
        zh.out,
        [
            "llama-3.1-70b",
            "H100 SXM5 80 GB",
            "ib-ndr",
            "tp=8,pp=4,cp=1,dp=1,shard=zero1,sp,mb=8",
            "InfiniBand NDR, 400 Gb/s",
        ],
    )


def test_nodes_1_without_a_layout_is_todays_plan(cli):
    args = ["plan", "qwen2.5-7b", "--gpus", "4", "--strategy", "zero3", "--json"]
    assert cli(*args).out == cli(*args, "--nodes", "1").out


def test_bad_flags_are_one_line(cli):
    cases = [
        (["--nodes", "0"], "--nodes must be 1 to 64"),
        (["--nodes", "65", "--network", "ib-ndr"], "--nodes must be 1 to 64"),
        (["--nodes", "2"], "needs --network"),
        (["--nodes", "2", "--network", "ib-xdr"], "unknown network ib-xdr"),
        (
            ["--nodes", "2", "--network", "ib-ndr", "--layout", "tp=16"],
            "tensor parallel stays inside a node",
        ),
        (["--nodes", "2", "--network", "ib-ndr", "--layout", "tp=3"], "does not divide"),
        (["--nodes", "2", "--network", "ib-ndr", "--layout", "dp=3"], "but the cluster has 16"),
        (["--nodes", "2", "--network", "ib-ndr", "--strategy", "fsdp"], "--layout"),
        (["--nodes", "2", "--network", "ib-ndr", "--nics", "0"], "--nics must be 1 to 16"),
        (["--nodes", "2", "--gpus", "9", "--network", "ib-ndr"], "--gpus must be 1 to 8"),
    ]
    cases += [
        (["--network", "ib-ndr"], "--network is for a cluster"),
        (["--nodes", "1", "--nics", "2"], "--nics is for a cluster"),
    ]
    cases += [  # empty values are not the defaults
        (["--nodes=", "--network", "ib-ndr"], "--nodes must be 1 to 64, not ''"),
        (["--nodes", "2", "--network", "ib-ndr", "--layout="], "bad --layout: it is empty"),
        (["--nodes", "2", "--network="], 'unknown network ""'),
    ]
    assert len(cases) == 15
    for extra, says in cases:
        one_line(cli("plan", "llama-3.1-8b", "--gpu", "h100-sxm-80gb", *extra), says)


_TEXT = st.text(
    alphabet=st.sampled_from(list("0123456789tpcdvmbshardzeoflsin=,-_ ²٢\t")), max_size=14
)


@settings(
    max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(nodes=_TEXT, layout=_TEXT, nics=st.one_of(st.none(), _TEXT))
def test_any_cluster_flags_plan_or_are_one_line(cli, nodes, layout, nics):
    args = [
        "plan",
        "qwen2.5-0.5b",
        "--gpu",
        "h100-sxm-80gb",
        "--seq",
        "512",
        "--network",
        "eth-100",
    ]
    args += [f"--nodes={nodes}", f"--layout={layout}"]
    if nics is not None:
        args.append(f"--nics={nics}")
    r = cli(*args, "--json")
    if r.code == 0:
        assert "cluster" in r.json()["cards"][0]
    else:
        one_line(r)


def test_layout_auto_takes_the_searchs_best_and_lists_the_others(cli):
    r = cli(
        "plan",
        "llama-3.1-8b",
        "--gpu",
        "h100-sxm-80gb",
        "--seq",
        "8192",
        "--nodes",
        "2",
        "--network",
        "ib-ndr",
        "--layout",
        "auto",
        "--json",
    )
    assert r.code == 0, r.err
    c = r.json()["cards"][0]["cluster"]
    assert c["per_gpu_memory"]["fits"]
    rows = [c, *c["alternatives"]]
    assert 1 <= len(rows) <= 3
    for row in rows:
        lay = row["layout"]
        assert lay["tp"] * lay["pp"] * lay["cp"] * lay["dp"] == 16
    steps = [row["time"]["step_s"] for row in rows]
    assert steps == sorted(steps)  # fastest first
    # each says why, naming its layout
    assert c["why"] and c["layout"]["text"] in c["why"][0]
    for a in c["alternatives"]:
        assert a["why"] and a["layout"]["text"] in a["why"][0]


def test_emit_writes_the_clusters_launch_files(cli, tmp_path):
    r = cli(
        "plan",
        "llama-3.1-8b",
        "--gpu",
        "h100-sxm-80gb",
        "--nodes",
        "2",
        "--network",
        "ib-ndr",
        "--layout",
        "tp=4,pp=2,mb=4,shard=fsdp",
        "--emit",
        str(tmp_path),
        "--json",
    )
    assert r.code == 0, r.err
    names = {p.rsplit("/", 1)[-1] for p in r.json()["emitted"]}
    assert {"torchrun.sh", "job.sbatch"} <= names


def _replan(cli, model, card, seq, network, change):
    args = ["plan", model, "--gpu", card, "--seq", str(seq), "--network", network]
    args += ["--nodes", str(change["nodes"]), "--layout", change["layout"]["text"], "--json"]
    if change["grad_checkpointing"]:
        args.append("--grad-checkpointing")
    r = cli(*args)
    assert r.code == 0, r.err
    return r.json()["cards"][0]["cluster"]["per_gpu_memory"]


def test_each_change_said_to_fit_fits_when_planned_with_its_own_flags(cli):
    cases = [
        ("llama-3.1-70b", "rtx-4090", 8192, "eth-100", 2, "auto"),
        ("llama-3.1-70b", "h100-sxm-80gb", 8192, "ib-ndr", 2, "tp=8,shard=fsdp"),
        ("llama-3.1-8b", "rtx-4090", 4096, "eth-100", 2, "tp=2,pp=2,mb=4,shard=zero1"),
    ]
    seen = 0
    for model, card, seq, network, nodes, layout in cases:
        r = cli(
            "plan",
            model,
            "--gpu",
            card,
            "--seq",
            str(seq),
            "--network",
            network,
            "--nodes",
            str(nodes),
            "--layout",
            layout,
            "--json",
        )
        assert r.code == 0, r.err
        c = r.json()["cards"][0]["cluster"]
        assert not c["per_gpu_memory"]["fits"], (model, card, layout)
        for change in c["changes"]:
            again = _replan(cli, model, card, seq, network, change)
            assert again["fits"] and again["total"] == change["total"]
            seen += 1
    assert seen >= 3


@settings(
    max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    method=st.sampled_from(["full", "lora", "qlora"]),
    optimizer=st.sampled_from(["adamw", "adamw-8bit", "paged-adamw-8bit", "sgd", "adafactor"]),
    precision=st.sampled_from(["bf16", "amp-bf16", "fp32"]),
    tp=st.sampled_from([1, 2]),
    pp=st.sampled_from([1, 2]),
    shard=st.sampled_from(["ddp", "fsdp", "hsdp", "zero1", "zero2", "zero3"]),
    ckpt=st.booleans(),
)
def test_any_recipe_on_any_layout_plans_or_is_one_line(
    cli, method, optimizer, precision, tp, pp, shard, ckpt
):
    layout = f"tp={tp},pp={pp},shard={shard},mb=2"
    args = ["plan", "qwen2.5-0.5b", "--gpu", "a100-sxm-80gb", "--seq", "256", "--nodes", "2"]
    args += ["--gpus", "4", "--network", "roce-200", "--layout", layout, "--method", method]
    args += ["--optimizer", optimizer, "--precision", precision, "--json"]
    r = cli(*args, *(["--grad-checkpointing"] if ckpt else []))
    assert "Traceback" not in r.err
    if r.code == 0:
        m = r.json()["cards"][0]["cluster"]["per_gpu_memory"]
        assert m["total"] > 0 and m["fits"] == (m["total"] <= m["usable"])
    else:
        one_line(r)


def test_a_cluster_plan_stays_on_the_fast_path():
    """plan is on the fast path: a cluster plan (auto included) imports neither torch nor
    transformers."""
    args = ["plan", "llama-3.1-8b", "--gpu", "h100-sxm-80gb", "--nodes", "2", "--network"]
    args += ["ib-ndr", "--layout", "auto", "--json"]
    command_loads_none_of(args, ("torch", "transformers"))


def test_a_network_from_the_card_file(cli, tmp_path):
    path = tmp_path / "cards.json"
    body = {
        "cards": [],
        "networks": [
            {
                "key": "lab-ib",
                "name": "our lab's fabric",
                "gbit_s": 100,
                "latency_us": 5,
                "bus_efficiency": 0.5,
                "source": "our nccl-tests run",
            }
        ],
    }
    path.write_text(json.dumps(body), encoding="utf-8")
    args = ["plan", "llama-3.1-8b", "--gpu", "h100-sxm-80gb", "--nodes", "2", "--catalog"]
    args += [str(path), "--network", "lab-ib", "--layout", "shard=fsdp", "--json"]
    r = cli(*args)
    assert r.code == 0, r.err
    assert r.json()["cards"][0]["cluster"]["network"] == "lab-ib"
    # a bad entry is one line naming the file, the network and the field
    body["networks"][0]["bus_efficiency"] = 2
    path.write_text(json.dumps(body), encoding="utf-8")
    one_line(cli(*args), "lab-ib", "bus_efficiency", "0.01 to 1")
