"""``recommend`` over clusters: ranked by cost under the deadline, costs that add up, bad
input one line (exit 2), Chinese tables, the cold-start budget."""

from __future__ import annotations

import json
import os
import resource
import subprocess
import sys

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from gpuwise.catalog import load_catalog, usable_memory
from gpuwise.cluster.recommend import node_counts, usual_network
from tests.i18n.checks import leftover_english, table_lines_aligned

JOB = ("llama-3.1-8b", "--tokens", "2e11", "--deadline", "14d", "--seq", "8192")


def _doc(cli, *extra):
    r = cli("recommend", *JOB, *extra, "--json")
    assert r.code == 0, r.err
    return json.loads(r.out)


def test_clusters_are_ranked_by_cost_among_those_that_meet_the_deadline(cli):
    doc = _doc(cli, "--gpu", "h100,4090", "--max-nodes", "16")
    assert doc["kind"] == "cluster_recommend" and doc["options"]
    options = doc["options"]
    meets = [o for o in options if o["meets_deadline"]]
    late = [o for o in options if o["meets_deadline"] is False]
    assert options[: len(meets)] == meets  # every option that meets the deadline comes first
    assert [o["cost"] for o in meets] == sorted(o["cost"] for o in meets)
    assert [o["run_s"] for o in late] == sorted(o["run_s"] for o in late)
    # 1, 2, 4, 8, 16 nodes of two cards: 10 clusters
    assert doc["clusters_tried"] == 10
    catalog = load_catalog(None)
    for o in options:
        assert o["run_s"] == pytest.approx(doc["tokens"] / o["tokens_per_s"])
        assert o["cost"] == pytest.approx(
            o["price_per_gpu_hour"] * o["gpus"] * o["run_s"] / 3600, abs=0.01
        )
        assert o["meets_deadline"] == (o["run_s"] <= 14 * 86400)
        assert o["gpus"] == o["nodes"] * 8 == o["tp"] * o["pp"] * o["cp"] * o["dp"]
        usable = usable_memory(catalog.find(o["slug"])).bytes / 2**30
        assert o["memory_gib_per_gpu"] <= usable + 0.01
        assert o["network"] == (usual_network(catalog.find(o["slug"])) if o["nodes"] > 1 else None)
        assert 0 < o["mfu"] < 1 and o["tokens_per_s_low"] < o["tokens_per_s_high"]
        assert o["why"] and "\n" not in o["why"][0]


def test_a_given_gpu_hour_price_sets_every_cost(cli):
    doc = _doc(cli, "--gpu", "h100", "--max-nodes", "4", "--gpu-hour-price", "2")
    assert doc["options"]
    for o in doc["options"]:
        assert o["price_per_gpu_hour"] == 2.0
        assert o["cost"] == pytest.approx(2.0 * o["gpus"] * o["run_s"] / 3600, abs=0.01)


def test_networks_asked_are_each_tried(cli):
    doc = _doc(cli, "--gpu", "h100", "--max-nodes", "2", "--network", "ib-ndr,eth-10")
    seen = {(o["nodes"], o["network"]) for o in doc["options"]}
    assert seen == {(1, None), (2, "ib-ndr"), (2, "eth-10")}
    by = {o["network"]: o for o in doc["options"] if o["nodes"] == 2}
    assert by["eth-10"]["step_s"] > by["ib-ndr"]["step_s"]


def test_node_counts_are_powers_of_two_and_the_most():
    assert node_counts(1) == [1]
    assert node_counts(64) == [1, 2, 4, 8, 16, 32, 64]
    assert node_counts(12) == [1, 2, 4, 8, 12]


def test_nothing_that_fits_is_said(cli):
    r = cli("recommend", "llama-3.1-70b", "--tokens", "1e9", "--gpu", "4090", "--max-nodes", "2",
            "--json")  # fmt: skip
    assert r.code == 0, r.err
    doc = json.loads(r.out)
    assert doc["options"] == [] and doc["clusters_without_fit"] == doc["clusters_tried"] == 2
    assert any("no layout that fits" in n for n in doc["notes"])


@pytest.mark.parametrize(
    ("extra", "says"),
    [
        (("--max-nodes", "0"), "--max-nodes must be a whole number from 1 to 64"),
        (("--max-nodes", "65"), "--max-nodes must be a whole number from 1 to 64"),
        (("--max-nodes", "²"), "--max-nodes must be a whole number"),
        (("--gpu-hour-price", "nan"), "--gpu-hour-price must be a number"),
        (("--gpu-hour-price", "-1"), "--gpu-hour-price must be a number"),
        (("--global-batch", "1.5"), "--global-batch must be a whole number"),
        (("--network", "ib-xyz"), "unknown network"),
        (("--network", ""), "--network '' has an empty name; give network keys such as ib-ndr"),
        (("--network", "ib-ndr,,eth-10"), "has an empty name; give network keys"),
        (("--max-nodes", ""), "--max-nodes must be a whole number from 1 to 64"),
        (("--global-batch", ""), "--global-batch must be a whole number"),
    ],
)
def test_bad_flags_are_one_line_and_exit_2(cli, extra, says):
    r = cli("recommend", *JOB, "--gpu", "h100", *extra)
    assert r.code == 2 and r.out == ""
    assert says in r.err and len(r.err.strip().splitlines()) == 1 and "Traceback" not in r.err


def test_a_cluster_needs_tokens_and_training(cli):
    r = cli("recommend", "llama-3.1-8b", "--max-nodes", "4")
    assert r.code == 2 and "--tokens" in r.err and len(r.err.strip().splitlines()) == 1
    r = cli("recommend", "llama-3.1-8b", "--tokens", "1e9", "--task", "infer", "--max-nodes", "4")
    assert r.code == 2 and "--task train" in r.err and len(r.err.strip().splitlines()) == 1


@settings(
    max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    flag=st.sampled_from(["--max-nodes", "--gpu-hour-price", "--global-batch", "--network"]),
    value=st.text(max_size=12).filter(lambda s: not s.startswith("-")),
)
def test_any_text_is_an_answer_or_one_line(cli, flag, value):
    r = cli("recommend", *JOB, "--gpu", "h100", "--max-nodes", "2", flag, value, "--json")
    if r.code == 0:
        assert json.loads(r.out)["kind"] == "cluster_recommend"
    else:
        assert r.code == 2 and len(r.err.strip().splitlines()) == 1 and "Traceback" not in r.err


def test_the_table_in_chinese(cli):
    r = cli("--lang", "zh", "recommend", *JOB, "--gpu", "h100,4090", "--max-nodes", "4")
    assert r.code == 0, r.err
    assert "集群" in r.out and "布局" in r.out
    assert table_lines_aligned(r.out) == []
    names = ["H100 SXM5 80 GB", "RTX 4090", "MFU", "GiB", "RunPod", "torchtitan", "llm-foundry",
             "Megatron-LM", "ib-ndr", "eth-100", "USD", "token"]  # fmt: skip
    doc = _doc(cli, "--gpu", "h100,4090", "--max-nodes", "4")
    names += [o["layout"] for o in doc["options"]]  # the --layout text, as typed
    names += [str(doc["options"][0]["price_source"])]  # the source's title, as it is
    left = leftover_english(r.out, names=names)
    assert left == [], left


def test_the_english_table(cli):
    r = cli("recommend", *JOB, "--gpu", "h100,4090", "--max-nodes", "4")
    assert r.code == 0, r.err
    assert "clusters to train 200,000,000,000 tokens" in r.out and "first:" in r.out


def test_recommend_over_clusters_is_under_a_second_of_cpu_cold():
    env = {**os.environ, "XDG_CONFIG_HOME": "/nonexistent", "LANG": "C.UTF-8"}
    env.pop("GPUWISE_CATALOG", None)
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    done = subprocess.run(
        [sys.executable, "-m", "gpuwise", "recommend", "llama-3.1-70b", "--tokens", "2e10",
         "--deadline", "14d", "--seq", "8192", "--grad-checkpointing", "--max-nodes", "64",
         "--json"],
        capture_output=True, text=True, env=env, check=False,
    )  # fmt: skip
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    assert done.returncode == 0, done.stderr
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    assert json.loads(done.stdout)["clusters_tried"] >= 7 * 10  # every rented card, 7 sizes
    assert cpu < 1.0, cpu


def test_the_json_has_the_recommend_contract_keys(cli):
    doc = _doc(cli, "--gpu", "h100", "--max-nodes", "2")
    assert doc["schema_version"] and doc["gpuwise_version"]
    for o in doc["options"]:
        assert o["count"] == o["gpus"] and o["strategy"] == o["sharding"] and o["fits"] is True
        assert o["memory_per_gpu_bytes"] > 0 and o["time_s"] == o["run_s"]
        assert o["cost_usd"] == o["cost"] and o["currency"] == "usd"
        assert (o["reason"] is None) == (o["meets_deadline"] is not False)


def test_fastest_ranks_by_time_among_those_on_time(cli):
    doc = _doc(cli, "--gpu", "h100,4090", "--max-nodes", "8", "--objective", "fastest")
    on_time = [o for o in doc["options"] if o["meets_deadline"]]
    assert on_time and [o["run_s"] for o in on_time] == sorted(o["run_s"] for o in on_time)
    assert doc["objective"] == "fastest"


@pytest.mark.parametrize(
    "flag",
    [
        ("--budget", "1000"),
        ("--have", "4090"),
        ("--emit", "out"),
        ("--max-power", "3000"),
        ("--max-gpus", "4"),
        ("--grad-accum", "4"),
        ("--reserve", "2"),
    ],
)
def test_flags_not_planned_for_clusters_are_refused(cli, flag):
    r = cli("recommend", *JOB, "--gpu", "h100", "--max-nodes", "2", *flag)
    assert r.code == 2 and flag[0] in r.err and len(r.err.strip().splitlines()) == 1


def test_a_card_without_a_rental_price_is_said(cli):
    doc = _doc(cli, "--gpu", "rtx-3090", "--max-nodes", "1")
    assert any("no rental price for GeForce RTX 3090" in n for n in doc["notes"])
    assert all(o["cost"] is None for o in doc["options"])


def test_without_a_deadline_the_title_names_none(cli):
    r = cli("recommend", "llama-3.1-8b", "--tokens", "1e10", "--gpu", "h100", "--max-nodes", "2")
    assert r.code == 0, r.err
    assert "clusters to train 10,000,000,000 tokens, cheapest first" in r.out
    assert "deadline" not in r.out.splitlines()[0]


def test_every_cluster_runs_the_same_global_batch(cli):
    doc = _doc(cli, "--gpu", "h100,4090", "--max-nodes", "8")
    assert doc["global_batch"] == 1 * 8 * 8 and doc["options"]
    for o in doc["options"]:
        assert o["dp"] * o["micro_batches"] * doc["workload"]["batch"] == doc["global_batch"]
    doc = _doc(cli, "--gpu", "h100", "--max-nodes", "4", "--global-batch", "96")
    assert doc["global_batch"] == 96 and doc["options"]
    assert all(o["dp"] * o["micro_batches"] == 96 for o in doc["options"])


def test_a_global_batch_no_layout_splits_is_said_as_such(cli):
    doc = _doc(cli, "--gpu", "h100", "--max-nodes", "64", "--global-batch", "1")
    assert doc["clusters_without_fit"] >= 1
    assert any("cannot split a step of 1 sequence (--global-batch)" in n for n in doc["notes"])
