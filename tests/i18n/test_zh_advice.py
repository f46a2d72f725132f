"""Chinese for what engineer K added (issue 14, parts 3 and 5): advice on several cards and on
``--gpus N --strategy S``, recommend's cost to finish (its column, its assumption, the mark of
added checkpointing, a first option several times slower), the workload line's words, and the
ZeRO / FSDP precision notes. No English left but names and data; tables line up."""

from __future__ import annotations

import re

import pytest

from .checks import leftover_english, table_lines_aligned
from .test_zh_plan import data_words as plan_words
from .test_zh_recommend import data_words as recommend_words

CJK = re.compile(r"[\u4e00-\u9fff]")

PLANS = [
    ["qwen2.5-7b", "--method", "full", "--gpus", "4", "--strategy", "ddp", "--gpu", "4090"],
    ["llama-3.1-8b", "--method", "lora", "--seq", "8192", "--gpu", "3060", "--gpu", "4090"],
    ["llama-3.1-70b", "--method", "full", "--no-search"],
    [
        "qwen2.5-7b",
        "--method",
        "full",
        "--precision",
        "amp-bf16",
        "--gpus",
        "4",
        "--strategy",
        "zero2",
        "--gpu",
        "h100",
    ],
    [
        "qwen2.5-7b",
        "--method",
        "full",
        "--precision",
        "bf16",
        "--gpus",
        "4",
        "--strategy",
        "zero3",
        "--gpu",
        "h100",
    ],
    [
        "qwen2.5-7b",
        "--method",
        "full",
        "--precision",
        "bf16",
        "--gpus",
        "4",
        "--strategy",
        "fsdp",
        "--gpu",
        "h100",
    ],
    ["gpt2", "--method", "full", "--seq", "1024", "--batch", "8", "--gpu", "3060"],
]


@pytest.mark.parametrize("args", PLANS, ids=[" ".join(a[:6]) for a in PLANS])
def test_plan_advice_and_notes_in_chinese(cli, args):
    doc = cli("plan", *args, "--json").json()
    r = cli("plan", *args, "--lang", "zh")
    assert r.code == 0, r.err
    assert CJK.search(r.out)
    words = plan_words(doc) + [a["card"] for a in doc.get("card_advice", [])]
    assert leftover_english(r.out, words) == []
    assert table_lines_aligned(r.out) == []


RECOMMENDS = [
    ["llama-3.1-8b", "--method", "lora", "--top", "8"],
    ["llama-3.2-1b", "--method", "lora", "--tokens", "500M", "--top", "6"],
    [
        "qwen2.5-14b",
        "--method",
        "qlora",
        "--grad-checkpointing",
        "--budget",
        "15000",
        "--currency",
        "cny",
        "--top",
        "10",
    ],
    ["llama-3.1-8b", "--method", "full", "--have", "3060", "--top", "3"],
]


@pytest.mark.parametrize("args", RECOMMENDS, ids=[" ".join(a[:4]) for a in RECOMMENDS])
def test_recommend_cost_to_finish_in_chinese(cli, args):
    doc = cli("recommend", *args, "--json").json()
    r = cli("recommend", *args, "--lang", "zh")
    assert r.code == 0, r.err
    flat = "".join(r.out.split())
    assert "跑完花费" in flat or "每百万token" in flat
    if any(o["changes"] for o in doc["options"]):
        assert "†：加了梯度检查点" in flat
    assert leftover_english(r.out, recommend_words(doc)) == []
    assert table_lines_aligned(r.out) == []
