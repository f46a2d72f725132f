"""recommend --task infer --engine vllm: the cards and how many of each (tensor parallel where
vLLM can split the heads), each option the plan's own figures, ranked by capacity and cost, the
load asked (--concurrency) holding machines back, the advice when nothing serves, and bad
machines refused in one line."""

from __future__ import annotations

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.checks import finite_document, one_line

REC = ("recommend", "llama-3.1-8b", "--task", "infer", "--engine", "vllm")


def _doc(cli, *args: str, model: str = "llama-3.1-8b") -> dict:
    r = cli("recommend", model, *REC[2:], *args, "--json")
    assert r.code == 0, r.err
    return finite_document(r.out)


def _plan(cli, model: str, card: str, gpus: int, *args: str) -> dict:
    r = cli(
        "plan", model, "--task", "infer", "--engine", "vllm", "--gpu", card,
        "--gpus", str(gpus), "--no-search", *args, "--json",
    )  # fmt: skip
    assert r.code == 0, r.err
    return finite_document(r.out)


def test_each_card_is_tried_on_the_counts_vllm_splits_the_heads_over(cli):
    # Llama-3.1-8B: 32 heads, 8 KV heads: 1, 2, 4, 8. Qwen2.5-7B: 28 heads, 4 KV heads: 3, 5,
    # 6, 7 do not divide the KV heads (nor they the count), so 1, 2, 4
    llama = _doc(cli, "--gpu", "4090")
    assert sorted(o["count"] for o in llama["options"]) == [1, 2, 4, 8]
    qwen = _doc(cli, "--gpu", "4090", model="qwen2.5-7b")
    assert sorted(o["count"] for o in qwen["options"]) == [1, 2, 4]
    assert {o["strategy"] for o in llama["options"]} == {"single", "tensor-parallel"}


@pytest.mark.parametrize("count", [1, 2, 4])
def test_an_option_is_the_plan_of_the_same_machine(cli, count):
    doc = _doc(cli, "--gpu", "3090", "--seq", "4096")
    option = next(o for o in doc["options"] if o["count"] == count)
    card = _plan(cli, "llama-3.1-8b", "3090", count, "--seq", "4096")["cards"][0]
    assert option["serving"] == card["serving"]
    assert option["fits"] == card["fits"]
    assert option["decode_tokens_per_s"] == card["time"]["decode_tokens_per_s"]
    assert option["tokens_per_s"] == card["serving"]["throughput_tokens_per_s"]


def test_more_cards_hold_more_sequences_and_serve_faster(cli):
    doc = _doc(cli, "--gpu", "4090", "--objective", "fastest")
    by_count = sorted(doc["options"], key=lambda o: o["count"])
    tokens = [o["kv_cache_tokens"] for o in by_count]
    speed = [o["throughput_tokens_per_s"] for o in by_count]
    assert tokens == sorted(tokens) and len(set(tokens)) == len(tokens)
    assert speed == sorted(speed)
    # --objective fastest: the usable options by throughput, the fastest first
    ranked = [o["tokens_per_s"] for o in doc["options"] if o["ok"]]
    assert ranked == sorted(ranked, reverse=True) and len(ranked) == 4


def test_a_machine_holding_fewer_sequences_than_the_load_is_held_back(cli):
    doc = _doc(cli, "--gpu", "4090", "--seq", "8192", "--concurrency", "64")
    for o in doc["options"]:
        enough = o["max_concurrent_seqs"] >= 64
        assert o["fits"]  # every count holds one sequence of 8,192 tokens
        assert o["ok"] == enough, o
        if not enough:
            assert "--concurrency 64" in o["reason"], o["reason"]
    held = sorted(o["count"] for o in doc["options"] if not o["ok"])
    assert held == [1, 2]  # 5 and 24 sequences of 8,192 tokens; 4 cards hold 64
    assert 8 in [o["count"] for o in doc["options"] if o["ok"]]


def test_a_card_too_small_says_why_and_the_advice_names_what_fits(cli):
    doc = _doc(cli, "--gpu", "4090", "--have", "4090", "--max-gpus", "2", model="llama-3.1-70b")
    assert doc["options_ok"] == 0
    for o in doc["options"]:
        assert not o["fits"] and "--gpu-memory-utilization" in o["reason"]
    a = doc["advice"]
    assert a["engine"] == "vllm" and not a["fits_as_asked"] and a["kv_cache_tokens"] == 0
    # 70B in bf16 needs more than two 4090s; nothing alone fits at --max-gpus 2
    assert a["fits_alone"] == []
    doc8 = _doc(cli, "--gpu", "4090", "--have", "4090", model="llama-3.1-70b")
    cards = [c for c in doc8["advice"]["fits_alone"] if c["gpus"] > 1]
    assert [c["gpus"] for c in cards] == [8]
    plan = _plan(cli, "llama-3.1-70b", "4090", 8)["cards"][0]
    assert plan["fits"] and plan["serving"]["kv_cache_tokens"] == cards[0]["kv_cache_tokens"]


def _kv(change: dict) -> str:
    return "bf16" if change["kv_type"] == "auto" else change["kv_type"]


def test_the_advice_changes_each_serve_the_load_as_the_plan_says(cli):
    doc = _doc(cli, "--gpu", "4090", "--have", "4090", "--seq", "8192", "--concurrency", "64")
    a = doc["advice"]
    assert not a["fits_as_asked"]
    changes = {c["weight_type"]: c for c in a["fits_alone"] + a["not_enough"]}
    assert changes, a
    for c in a["fits_alone"] + a["not_enough"]:
        args = ["--seq", str(c["seq"]), "--concurrency", "64", "--kv-dtype", _kv(c)]
        args += ["--weight-dtype", c["weight_type"]]
        args += ["--gpu-memory-utilization", str(c["gpu_memory_utilization"])]
        card = _plan(cli, "llama-3.1-8b", "4090", c["gpus"], *args)["cards"][0]
        assert card["serving"]["kv_cache_tokens"] == c["kv_cache_tokens"]
        assert c["fits"] == (card["serving"]["max_concurrent_seqs"] >= 64), c
    # the shorter --seq that fits holds the 64 sequences in the cache as asked
    shorter = [c for c in a["fits_alone"] if c["seq"] < 8192]
    assert shorter and shorter[0]["max_concurrent_seqs"] >= 64


def test_the_card_asked_about_fits_as_asked_and_says_so(cli):
    r = cli(*REC, "--gpu", "4090", "--have", "4090")
    assert r.code == 0, r.err
    assert "serves the model as asked" in r.out
    assert "Throughput" in r.out and "not calibrated" in r.out


def test_a_named_machine_is_tried_as_named_once(cli):
    doc = _doc(cli, "--gpu", "2x4090", "--gpu", "4090")
    assert sorted(o["count"] for o in doc["options"]) == [1, 2, 4, 8]
    only = _doc(cli, "--gpu", "2x3090")
    assert [(o["gpu"], o["count"]) for o in only["options"]] == [("GeForce RTX 3090", 2)]


@pytest.mark.parametrize(
    ("gpu", "says"),
    [("4090+3090", "one kind"), ("3x4090", "cannot split"), ("2x", "unknown card")],
)
def test_a_machine_vllm_cannot_run_is_one_line(cli, gpu, says):
    one_line(cli(*REC, "--gpu", gpu), says)


@settings(
    max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    flag=st.sampled_from(
        ["--concurrency", "--gpu-memory-utilization", "--max-num-seqs", "--max-num-batched-tokens"]
    ),
    value=st.sampled_from(["0", "-1", "nan", "inf", "1e400", "", "--", "x", "2.5", "1e9"]),
)
def test_bad_vllm_flags_in_recommend_are_one_line(cli, flag, value):
    # none is a count from 1 or a fraction in (0, 1]
    one_line(cli(*REC, "--gpu", "4090", f"{flag}={value}", "--json"))


def test_emit_is_refused_naming_vllm_serve(cli, tmp_path):
    one_line(cli(*REC, "--gpu", "4090", "--emit", str(tmp_path / "out")), "vllm serve")
    assert not (tmp_path / "out").exists()
