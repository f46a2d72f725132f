"""recommend --task infer with llama.cpp in Chinese: the table of machines lines up in terminal
cells, the lines below it (engine, limits, columns, why a machine is held back) hold no English
prose but names, flags, types and units, and its refusals are one Chinese line."""

from __future__ import annotations

import json

import pytest

from ..checks import one_line
from .checks import leftover_english, table_lines_aligned

REC = (
    "recommend",
    "llama-3.1-70b",
    "--task",
    "infer",
    "--weight-dtype",
    "q4_k_m",
    "--seq",
    "8192",
    "--gpu",
    "3090",
    "--gpu",
    "4090+3090",
    "--lang",
    "zh",
)
HELD_BACK = "未入选的原因（按 #）："
NAMES = ["llama.cpp", "Q4_K_M", "RTX", "GeForce", "ubatch", "FlashAttention", "KV", "GiB"]


def test_the_machines_table_and_its_lines_are_chinese(cli):
    r = cli(*REC)
    assert r.code == 0, r.err
    assert table_lines_aligned(r.out) == []
    assert "引擎：llama.cpp" in r.out and "主机内存" in r.out  # why one 3090 is held back
    below = r.out.split("┘", 1)[1]
    ours, prices = below.split("\n[1]", 1)  # the prices' sources are data, said as they are
    ours += prices.split(HELD_BACK, 1)[1]
    for line in ours.splitlines():
        assert leftover_english(line, NAMES) == [], line


def test_json_numbers_are_the_english_ones(cli):
    zh = json.loads(cli(*REC, "--json").out)
    en = json.loads(cli(*REC[:-2], "--json").out)
    assert [o["decode_tokens_per_s"] for o in zh["options"]] == [
        o["decode_tokens_per_s"] for o in en["options"]
    ]
    held = [o["reason"] for o in zh["options"] if not o["fits"]]
    assert held and all(leftover_english(r, NAMES) == [] for r in held)


@pytest.mark.parametrize(
    "args",
    [
        ("--emit", "launch"),
        ("--engine", "vllm"),
        ("--gpu-layers", "99"),
        ("--grad-accum", "2"),
    ],
)
def test_refusals_are_one_chinese_line(cli, args):
    r = cli(*REC, *args)
    one_line(r)
    names = [
        "gpuwise recommend",
        "llama.cpp",
        "Ollama",
        "ollama",
        "llama-server",
        "vllm",
        "plan",
        "CARD",
        "infer",
        "awq",
        "gptq",
    ]
    assert leftover_english(r.err, names) == [], r.err


def test_the_advice_for_a_model_that_does_not_fit_is_chinese(cli):
    plan = ("plan", "llama-3.1-70b", "--task", "infer", "--weight-dtype", "q4_k_m")
    r = cli(*plan, "--gpu", "3090", "--seq", "8192", "--no-search", "--lang", "zh")
    assert r.code == 0, r.err
    assert table_lines_aligned(r.out) == []
    advice = r.out[r.out.index("改动") - 400 :]
    assert "主机内存" in advice and "按层切分" in advice
    for line in advice.splitlines():
        assert leftover_english(line, [*NAMES, "IQ2_XXS", "IQ2_S", "q4_0", "q8_0"]) == [], line
