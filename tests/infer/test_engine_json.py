"""plan / recommend --json of an inference engine: the workload says the engine's weight and KV
types (not transformers' bf16), the precision keys that mean nothing to llama.cpp or vLLM are
null, and ``parallel`` is the machine: as many ``gpus`` as it has cards, its split named."""

from __future__ import annotations

import pytest

from tests.checks import finite_document

PLAN = ("plan", "llama-3.1-8b", "--task", "infer", "--no-search")
PRECISION = ("precision", "precision_given", "precision_note", "precision_warning")


def _doc(cli, *args: str) -> dict:
    r = cli(*args, "--json")
    assert r.code == 0, r.err
    return finite_document(r.out)


@pytest.mark.parametrize(
    ("args", "weights", "kv"),
    [
        (("--weight-dtype", "q4_k_m", "--gpu", "3090"), "q4_k_m", "f16"),
        (("--weight-dtype", "Q8_0", "--kv-dtype", "q8_0", "--gpu", "4090"), "q8_0", "q8_0"),
        (("--engine", "ollama", "--weight-dtype", "q4_k_m", "--gpu", "3060"), "q4_k_m", "f16"),
        (("--engine", "vllm", "--gpu", "4090"), "bf16", "auto"),
        (("--engine", "vllm", "--weight-dtype", "awq", "--kv-dtype", "fp8"), "awq", "fp8"),
    ],
)
def test_the_workload_says_the_engines_types_and_no_precision(cli, args, weights, kv):
    doc = _doc(cli, *PLAN, *args)
    w, e = doc["workload"], doc["engine"]
    assert (w["weight_dtype"], w["kv_dtype"]) == (weights, kv)
    assert (e["weight_type"], e["kv_type"]) == (weights, kv)
    assert w["precision"] is None and w["precision_given"] is None
    for card in doc["cards"]:
        assert all(card[k] is None for k in PRECISION), card


@pytest.mark.parametrize(
    ("args", "gpus", "strategy"),
    [
        (("--weight-dtype", "q4_k_m", "--gpu", "3090"), 1, "single"),
        (("--weight-dtype", "q4_k_m", "--gpu", "2x3090"), 2, "layer-split"),
        (("--weight-dtype", "q4_k_m", "--gpu", "3090", "--gpus", "2"), 2, "layer-split"),
        (("--weight-dtype", "q4_k_m", "--gpu", "4090+3090+3060"), 3, "layer-split"),
        (("--engine", "vllm", "--gpu", "4090"), 1, "single"),
        (("--engine", "vllm", "--gpu", "4090", "--gpus", "4"), 4, "tensor-parallel"),
    ],
)
def test_parallel_is_the_machine(cli, args, gpus, strategy):
    doc = _doc(cli, *PLAN, *args)
    p, card = doc["parallel"], doc["cards"][0]
    assert (p["gpus"], p["strategy"]) == (gpus, strategy)
    assert p["engine"] == doc["engine"]["name"]
    assert p["memory_is_per_gpu"] == (gpus > 1)
    if "serving" in card:
        assert card["serving"]["tensor_parallel"] == gpus
    else:
        assert len(card.get("per_gpu", [None])) == gpus


def test_a_transformers_plan_keeps_its_precision(cli):
    doc = _doc(cli, *PLAN, "--gpu", "3090")
    assert "engine" not in doc
    assert doc["workload"]["precision"] == "bf16" and doc["cards"][0]["precision"] == "bf16"
    assert doc["parallel"]["engine"] == "torch"


@pytest.mark.parametrize(
    "args",
    [("--weight-dtype", "q4_k_m", "--gpu", "2x3090"), ("--engine", "vllm", "--gpu", "4090")],
)
def test_recommend_options_have_no_precision(cli, args):
    doc = _doc(cli, "recommend", *PLAN[1:4], *args)
    assert doc["workload"]["weight_dtype"] == doc["engine"]["weight_type"]
    assert doc["workload"]["precision"] is None
    assert doc["options"]
    for o in doc["options"]:
        assert all(o[k] is None for k in PRECISION if k in o), o
        assert o["strategy"] in ("single", "layer-split", "tensor-parallel")
        assert (o["strategy"] == "single") == (o["count"] == 1)
