"""What `gpuwise explain` says in Chinese: every step's title, idea, items, formulas, notes and
units hold no English but names, units and identifiers; its tables line up in terminal cells;
its JSON keeps English keys and writes its prose in Chinese; its refusals are one Chinese
line. The English walk holds no Chinese."""

from __future__ import annotations

import re

import pytest

from ..checks import one_line
from .checks import leftover_english, table_lines_aligned

CASES = [
    ["llama-3.1-8b", "--method", "qlora", "--gpu", "3090", "--tokens", "100M"],
    ["qwen2.5-7b", "--method", "lora", "--grad-checkpointing", "--gpu", "4060ti16"],
    ["qwen3-30b-a3b", "--batch", "2", "--seq", "512", "--gpu", "h100-sxm-80gb"],
    ["bert-base-uncased", "--batch", "32", "--seq", "128", "--gpu", "2080ti"],
    ["gpt2", "--precision", "amp-fp16", "--optimizer", "sgd", "--gpu", "3060", "--tokens", "1B"],
    ["gpt2", "--optimizer", "adafactor"],
    ["mistral-7b-v0.3", "--task", "infer", "--weight-dtype", "int4", "--gpu", "4060ti16"],
    ["deepseek-v3", "--task", "infer", "--gpu", "h200", "--tokens", "1M"],
]

_HAN = re.compile(r"[\u4e00-\u9fff]")


def names(doc: dict) -> list[str]:
    """What the walk shows from data or from the user: the model's and card's names, its
    tensors' names, the dtypes, precision and optimizer asked for."""
    w = doc["workload"]
    out = [doc["model"]["name"], doc["model"]["model_type"]]
    out += [x["key"] for x in doc["steps"][0]["lines"]]
    out += [str(v) for k, v in w.items() if isinstance(v, str)]
    if doc["card"]:
        out.append(doc["card"]["name"])
    return out


def prose(doc: dict) -> str:
    """Every text of the steps (what the web page shows)."""
    parts = []
    for step in doc["steps"]:
        parts += [step["title"], step["idea"], *step["notes"]]
        for x in step["lines"]:
            parts += [x["label"], x["formula"] or ""]
    return "\n".join(parts)


@pytest.mark.parametrize("args", CASES, ids=lambda a: " ".join(a))
def test_the_walk_in_chinese_leaves_no_english(cli, args):
    r = cli("explain", *args, "--lang", "zh")
    assert r.code == 0 and r.err == "", r.err
    doc = cli("explain", *args, "--json").json()
    assert leftover_english(r.out, names(doc)) == []
    assert table_lines_aligned(r.out) == []
    assert "第 6 步：GB 与 GiB" in r.out and "第 1 步：参数量" in r.out


@pytest.mark.parametrize("args", CASES, ids=lambda a: " ".join(a))
def test_the_walk_in_english_holds_no_chinese(cli, args):
    r = cli("explain", *args, "--lang", "en")
    assert r.code == 0 and not _HAN.search(r.out), _HAN.findall(r.out)[:10]
    assert table_lines_aligned(r.out) == []
    assert len(leftover_english(r.out)) > 50  # the check sees English when there is some


@pytest.mark.parametrize("args", CASES[:3], ids=lambda a: " ".join(a))
def test_json_keys_stay_english_and_prose_follows_the_language(cli, args):
    en = cli("explain", *args, "--json").json()
    zh = cli("explain", *args, "--json", "--lang", "zh").json()
    assert en.keys() == zh.keys()
    for a, b in zip(en["steps"], zh["steps"], strict=True):
        assert a["id"] == b["id"] and a["number"] == b["number"]
        assert [x["key"] for x in a["lines"]] == [x["key"] for x in b["lines"]]
        assert [x["value"] for x in a["lines"]] == [x["value"] for x in b["lines"]]
        assert [x["unit"] for x in a["lines"]] == [x["unit"] for x in b["lines"]]
    assert leftover_english(prose(zh), names(zh)) == []
    assert _HAN.search(prose(zh)) and not _HAN.search(prose(en))


@pytest.mark.parametrize(
    ("args", "says"),
    [
        (["gpt2", "--gpu", "3090", "--gpu", "4090"], "一次只讲解一张显卡"),
        (["no-such-model-xyz"], "no-such-model-xyz"),
        (["gpt2", "--gpu", "no-such-card"], "no-such-card"),
    ],
)
def test_refusals_are_one_chinese_line(cli, args, says):
    r = cli("explain", *args, "--lang", "zh")
    one_line(r, says)
    assert _HAN.search(r.err)


def test_help_is_chinese(cli):
    r = cli("explain", "--help", "--lang", "zh")
    assert r.code == 0
    assert "按初学者学习的顺序" in r.out
    top = cli("--help", "--lang", "zh").out
    assert "逐步讲解一份计划里的数字" in top
