"""llama.cpp's row split in Chinese: the plan's notes, the split table's title and the refusal of a
split mode gpuwise does not plan hold no English prose but names, flags and units."""

from __future__ import annotations

from ..checks import one_line
from .checks import leftover_english, table_lines_aligned

PLAN = ("plan", "llama-3.1-70b", "--task", "infer", "--weight-dtype", "q4_k_m", "--no-search")
NAMES = ["llama.cpp", "RTX", "GeForce", "GiB", "KV", "CUDA", "Q4_K_M", "FlashAttention", "ubatch"]


def test_the_row_split_plan_is_chinese(cli):
    r = cli(*PLAN, "--gpu", "2x3090", "--seq", "8192", "--split-mode", "row", "--lang", "zh")
    assert r.code == 0, r.err
    assert table_lines_aligned(r.out) == []
    assert "按行切分" in r.out and "µs" in r.out
    for line in r.out.splitlines():
        if "按行切分" in line or "µs" in line:
            assert leftover_english(line, NAMES) == [], line


def test_an_unknown_split_mode_is_one_chinese_line(cli):
    r = cli(*PLAN, "--gpu", "2x3090", "--split-mode", "tensor", "--lang", "zh")
    one_line(r, "不在规划范围内")
    assert leftover_english(r.err, ["gpuwise plan", "layer", "row", "none"]) == [], r.err
