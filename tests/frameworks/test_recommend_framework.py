"""recommend --framework: the ranking is made with the framework's defaults (as plan
--framework applies them), says which it applied, and a flag the user gives wins; bad input is
one line, exit 2."""

from __future__ import annotations

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ..checks import one_line
from ..i18n.checks import leftover_english

BASE = ("recommend", "llama-3.1-8b", "--method", "qlora", "--seq", "4096", "--max-gpus", "1")
CARDS = ("--gpu", "4060 ti 16gb", "--gpu", "4090", "--gpu", "3060")


def _doc(cli, *args: str) -> dict:
    r = cli(*BASE, *CARDS, *args, "--json")
    assert r.code == 0, r.err
    return r.json()


def _gib(doc: dict, card: str) -> float:
    return next(
        o["required_per_gpu_bytes"] for o in doc["options"] if card in o["gpu"] and o["count"] == 1
    )


def test_unsloth_ranks_with_its_defaults(cli):
    ref, uns = _doc(cli), _doc(cli, "--framework", "unsloth")
    assert "framework" not in ref  # the reference step: nothing applied
    assert uns["framework"]["name"] == "unsloth"
    assert uns["framework"]["applied"]["loss"] == "chunked"
    w = uns["workload"]
    assert w["loss"] == "chunked" and w["ckpt_offload"] and w["upcast"] is False
    # the card needs what plan --framework unsloth says, less than the reference step needs
    assert _gib(uns, "4060 Ti") == plan_required(cli, "--framework", "unsloth")
    assert _gib(uns, "4060 Ti") < plan_required(cli)
    assert [o["gpu"] for o in uns["options"]] != [o["gpu"] for o in ref["options"]] or any(
        a["required_per_gpu_bytes"] != b["required_per_gpu_bytes"]
        for a, b in zip(uns["options"], ref["options"], strict=False)
    )


def plan_required(cli, *args: str) -> int:
    r = cli("plan", "llama-3.1-8b", "--method", "qlora", "--seq", "4096", "--gpu",
            "4060 ti 16gb", *args, "--no-search", "--json")  # fmt: skip
    assert r.code == 0, r.err
    return int(r.json()["cards"][0]["memory"]["required_bytes"])


def test_a_flag_given_wins_over_the_framework(cli):
    doc = _doc(cli, "--framework", "unsloth", "--loss", "full")
    assert doc["workload"]["loss"] == "full"
    assert "loss" in doc["framework"]["overridden"]


def test_the_table_says_the_framework_and_its_defaults(cli):
    r = cli(*BASE, *CARDS, "--framework", "trl")
    assert r.code == 0, r.err
    assert "Framework: TRL" in r.out
    assert "TRL default applied: loss chunked" in r.out


def test_chinese_table_says_the_framework_in_chinese(cli):
    r = cli(*BASE, *CARDS, "--framework", "torchtune", "--lang", "zh")
    assert r.code == 0, r.err
    lines = [line for line in r.out.splitlines() if "torchtune" in line]
    assert lines
    for line in lines:
        assert leftover_english(line, ["torchtune", "LoRA", "QLoRA", "adamw-fused", "0.6"]) == []


def test_inference_refuses_a_framework(cli):
    r = cli("recommend", "llama-3.1-8b", "--task", "infer", "--framework", "unsloth")
    one_line(r, "unsloth")


@settings(
    max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(st.text(min_size=1, max_size=20).filter(lambda s: s.strip().lower() not in {
    "transformers", "llamafactory", "unsloth", "axolotl", "torchtune", "trl"}))  # fmt: skip
def test_an_unknown_framework_is_one_line(cli, text):
    if text.startswith("-"):
        text = "x" + text  # argparse would read it as a flag
    r = cli("recommend", "llama-3.1-8b", "--framework", text)
    one_line(r, "--framework")


@pytest.mark.parametrize("name", ["LLaMA-Factory", "TRL", "Unsloth"])
def test_framework_names_as_people_write_them(cli, name):
    doc = _doc(cli, "--framework", name)
    assert doc["framework"]["name"] == name.lower().replace("-", "")
