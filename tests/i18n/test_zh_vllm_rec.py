"""recommend --task infer --engine vllm in Chinese: the table of machines lines up in terminal
cells, the lines below it (engine, limits, columns, why a machine is held back) and the advice
table hold no English prose but names, flags, types and units, and refusals are one line."""

from __future__ import annotations

from ..checks import one_line
from .checks import leftover_english, table_lines_aligned

REC = ("recommend", "llama-3.1-8b", "--task", "infer", "--engine", "vllm", "--lang", "zh")
HELD_BACK = "未入选的原因（按 #）："
NAMES = ["vLLM", "RTX", "GeForce", "KV", "GiB", "bf16", "auto", "fp8", "torch", "GPTQ", "AWQ"]


def _ours(out: str) -> list[str]:
    """The lines below the table that gpuwise writes (the prices' sources are data)."""
    below = out.split("┘", 1)[1]
    ours, prices = below.split("\n[1]", 1)
    if HELD_BACK in prices:
        ours += prices.split(HELD_BACK, 1)[1]
    return ours.splitlines()


def test_the_machines_table_and_its_lines_are_chinese(cli):
    r = cli(*REC, "--gpu", "4090", "--gpu", "3060", "--seq", "8192", "--concurrency", "16")
    assert r.code == 0, r.err
    assert table_lines_aligned(r.out) == []
    assert "引擎：vLLM" in r.out and "同时只能容纳" in r.out  # one 4090 holds too few
    assert "剩下的 KV 缓存" in r.out or "权重、激活峰值" in r.out  # a 3060 holds none
    for line in _ours(r.out):
        assert leftover_english(line, NAMES) == [], line


def test_the_advice_is_chinese(cli):
    r = cli(*REC, "--gpu", "4090", "--have", "4090", "--seq", "8192", "--concurrency", "64")
    assert r.code == 0, r.err
    assert table_lines_aligned(r.out) == []
    advice = r.out[r.out.rindex("\n", 0, r.out.index("你用 --have")) :]  # from its line on
    assert "张量并行" in advice and "提示和回答要更短" in advice
    for line in advice.splitlines():
        assert leftover_english(line, NAMES) == [], line


def test_a_mixed_machine_is_one_chinese_line(cli):
    r = cli(*REC, "--gpu", "4090+3090")
    one_line(r, "同型号")
    assert leftover_english(r.err, ["gpuwise recommend", "llama.cpp", "vLLM"]) == [], r.err


def test_a_count_vllm_cannot_split_is_one_chinese_line(cli):
    r = cli(*REC, "--gpu", "3x4090")
    one_line(r, "张量并行", "3 张显卡")
    names = ["gpuwise recommend", "vLLM", "GeForce", "RTX", "llama-3.1-8b", "KV"]
    assert leftover_english(r.err, names) == [], r.err


def test_emit_is_refused_in_one_chinese_line(cli, tmp_path):
    r = cli(*REC, "--gpu", "4090", "--emit", str(tmp_path / "out"))
    one_line(r, "启动文件")
    names = ["gpuwise recommend", "vLLM", "MODEL", "N"]
    assert leftover_english(r.err, names) == [], r.err
