"""``probe --simulate --layout`` in Chinese: no English prose left, the table's columns line up."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import pytest

from .checks import leftover_english, table_lines_aligned

TINY = str(Path(__file__).parents[1] / "cluster" / "configs" / "tiny-llama-tp.json")


@pytest.mark.skipif(
    not all(importlib.util.find_spec(m) for m in ("torch", "transformers", "peft")),
    reason="needs the [probe] extra",
)
def test_the_simulated_rank_table_in_chinese(cli):
    r = cli(
        "--lang", "zh", "probe", TINY, "--simulate", "--layout", "tp=2", "--gpus", "2",
        "--batch", "1", "--seq", "32",
    )  # fmt: skip
    assert r.code == 0, r.err
    assert "模拟" in r.out and "流水线" in r.out
    layout = "tp=2,pp=1,cp=1,dp=1,shard=ddp,mb=1"  # data: the layout's own text, wrapped
    assert layout in r.out.replace("\n", "").replace(" ", "")
    assert leftover_english(r.out, ["tiny-llama-tp", "torch", "transformers", "cpu", layout]) == []
    assert table_lines_aligned(r.out) == []


def test_a_layout_it_cannot_simulate_is_said_in_chinese(cli):
    r = cli("--lang", "zh", "probe", TINY, "--simulate", "--layout", "auto")
    assert r.code == 2
    assert "布局" in r.err and leftover_english(r.err, ["gpuwise probe"]) == []
