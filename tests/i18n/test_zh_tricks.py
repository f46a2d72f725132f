"""The memory tricks in Chinese: a plan with each trick on says its workload line, the notes
(analytic tricks and their source, the offload's PCIe time, the packing refusal) and --help in
Chinese, its tables line up, and a trick that does not apply is one Chinese line."""

from __future__ import annotations

import re

import pytest

from gpuwise.workload import LOSSES, METHODS, OPTIMIZERS

from ..checks import one_line
from .checks import leftover_english, table_lines_aligned
from .test_zh_plan import data_words, plan

CJK = re.compile(r"[\u4e00-\u9fff]")

QLORA = ["llama-3.1-8b", "--method", "qlora", "--seq", "4096", "--gpu", "4060 Ti 16GB"]
SPREAD = [
    (
        "chunked loss, no upcast",
        [*QLORA, "--grad-checkpointing", "--no-upcast", "--loss", "chunked"],
    ),
    (
        "fused loss, offloaded checkpoints, paged optimizer",
        [
            *QLORA,
            "--grad-checkpointing",
            "offload",
            "--loss",
            "fused",
            "--optimizer",
            "paged-adamw-8bit",
        ],
    ),
    ("packing on a card without FlashAttention 2", ["gpt2", "--packing", "--gpu", "2080ti,3090"]),
]
#: What the notes quote from the data file and the user's flags: kept as written.
TRICK_WORDS = ["offload", "chunked", "fused", "paged-adamw-8bit", "--no-upcast", "--packing"]


def _sources(doc: dict) -> list[str]:
    return [t["source"] for t in doc["workload"].get("tricks", [])]


@pytest.mark.parametrize("args", [a for _, a in SPREAD], ids=[n for n, _ in SPREAD])
def test_a_plan_with_tricks_in_chinese_leaves_no_english_and_lines_up(cli, args):
    doc = plan(cli, args, "--json").json()
    out = plan(cli, args, "--lang", "zh").out
    names = [*data_words(doc), *_sources(doc), *TRICK_WORDS]
    assert leftover_english(out, names) == []
    assert table_lines_aligned(out) == []
    assert CJK.search(out)


def test_the_workload_line_names_the_tricks_in_chinese(cli):
    out = " ".join(plan(cli, SPREAD[1][1], "--lang", "zh").out.split())
    assert "检查点存于主机内存 开启" in out or "检查点存于主机内存开启" in out
    assert "融合" in out and "PCIe" in out


def test_help_in_chinese_says_the_tricks(cli):
    r = cli("plan", "--help", "--lang", "zh")
    text = " ".join(r.out.split())
    for said in ("反向传播时重算", "主机内存", "拼成一行"):
        assert said in text


@pytest.mark.parametrize(
    "args",
    [
        ["--method", "lora", "--no-upcast"],
        ["--task", "infer", "--loss", "chunked"],
        ["--task", "infer", "--packing"],
        ["--grad-checkpointing", "cpu"],
        ["--loss", "liger"],
    ],
)
def test_a_trick_that_does_not_apply_is_one_chinese_line(cli, args):
    en = cli("plan", "llama-3.2-1b", *args)
    zh = cli("plan", "llama-3.2-1b", *args, "--lang", "zh")
    one_line(en)
    one_line(zh)
    said = zh.err.split("：", 1)[1]
    assert CJK.search(said) and zh.err != en.err
    names = ["llama-3.2-1b", "llama", *args, *OPTIMIZERS, *METHODS, *LOSSES, *TRICK_WORDS]
    assert leftover_english(said, names) == [], zh.err
