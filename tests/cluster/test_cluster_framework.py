"""A cluster plan is the step torchtitan / Megatron-LM run: --framework (a one-machine
framework's defaults) with --nodes or --layout is one line, exit 2, never a traceback."""

from __future__ import annotations

import pytest

from ..checks import one_line

FRAMEWORKS = ["llamafactory", "unsloth", "axolotl", "torchtune", "trl"]


@pytest.mark.parametrize("framework", FRAMEWORKS)
@pytest.mark.parametrize(
    "cluster", [("--nodes", "2", "--network", "ib-ndr"), ("--layout", "tp=2", "--gpus", "8")]
)
@pytest.mark.parametrize("lang", ["en", "zh"])
def test_a_framework_on_a_cluster_is_one_line(cli, framework, cluster, lang):
    argv = ("plan", "llama-3.1-8b", "--method", "lora", "--gpu", "4090", "--framework", framework)
    r = cli(*argv, *cluster, "--lang", lang)
    assert r.out == ""
    one_line(r, f"--framework {framework}", "--nodes / --layout")


def test_the_reference_framework_is_a_cluster_plan(cli):
    r = cli(
        "plan",
        "llama-3.1-8b",
        "--method",
        "lora",
        "--gpu",
        "4090",
        "--framework",
        "transformers",
        "--layout",
        "tp=2",
        "--gpus",
        "8",
        "--json",
    )
    assert r.code == 0, r.err


@pytest.mark.parametrize("framework", FRAMEWORKS)
def test_recommend_over_clusters_refuses_a_framework(cli, framework):
    r = cli(
        "recommend",
        "llama-3.1-8b",
        "--tokens",
        "1e10",
        "--max-nodes",
        "2",
        "--framework",
        framework,
    )
    assert r.out == ""
    one_line(r, "--framework")


def test_tokens_give_the_cluster_its_time_to_train(cli):
    argv = ("plan", "llama-3.1-8b", "--gpu", "h100", "--nodes", "2", "--network", "ib-ndr")
    r = cli(*argv, "--tokens", "1e10", "--json")
    assert r.code == 0, r.err
    import json

    tm = json.loads(r.out)["cards"][0]["cluster"]["time"]
    assert tm["time_to_train_s"] == pytest.approx(1e10 / tm["tokens_per_s"])
    shown = cli(*argv, "--tokens", "1e10")
    assert "10,000,000,000 tokens take" in shown.out
    without = json.loads(cli(*argv, "--json").out)["cards"][0]["cluster"]["time"]
    assert without["time_to_train_s"] is None
