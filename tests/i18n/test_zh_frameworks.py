"""plan --framework in Chinese: the framework's notes (defaults applied, overridden, not
modelled) hold no English prose but names, flags and values; its refusals are one Chinese line."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from ..checks import one_line
from .checks import leftover_english, table_lines_aligned

DATA = Path(__file__).resolve().parents[2] / "src/gpuwise/frameworks/data/frameworks.json"
FRAMEWORKS = json.loads(DATA.read_text(encoding="utf-8"))["frameworks"]
#: what comes from data: the frameworks' names and versions, the defaults' values
NAMES = ["LoRA", "QLoRA", "LM", "GiB"] + [
    word
    for info in FRAMEWORKS.values()
    for word in [info["name"], info["version"]]
    + [str(d["value"]) for d in info["defaults"] if isinstance(d["value"], str)]
]


@pytest.mark.parametrize(
    ("framework", "flags"),
    [
        ("unsloth", ["--loss", "full"]),
        ("torchtune", []),
        ("axolotl", []),
        ("llamafactory", []),
        ("trl", []),
    ],
)
def test_the_framework_notes_are_chinese(cli, framework, flags):
    r = cli("plan", "llama-3.1-8b", "--gpu", "4090", "--method", "qlora", "--lang", "zh",
            "--framework", framework, *flags)  # fmt: skip
    assert r.code == 0, r.err
    assert table_lines_aligned(r.out) == []
    text = " ".join(line.strip() for line in r.out.splitlines())
    notes = [n for n in text.split("注：")[1:] if framework in n.lower() or "框架" in n]
    assert notes and "框架：" in notes[0]
    for note in notes:
        assert leftover_english(note, NAMES) == [], note


def test_a_refusal_is_one_chinese_line(cli):
    r = cli("plan", "qwen2.5-7b", "--method", "qlora", "--framework", "torchtune", "--lang", "zh")
    one_line(r, "torchtune", "qwen2", "没有模型类型")
    r = cli("plan", "7b", "--framework", "megatron", "--lang", "zh")
    one_line(r, "--framework", "不是 gpuwise 认识的框架")
