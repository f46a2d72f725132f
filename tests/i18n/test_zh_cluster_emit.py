"""`plan --nodes ... --emit` refusals of the cluster launch files (area ``cluster_emit``) are one
line, in Chinese with ``--lang zh`` (no English prose left) and in English without."""

from __future__ import annotations

import re

import pytest

from ..checks import one_line
from .checks import leftover_english

CJK = re.compile(r"[\u4e00-\u9fff]")
BASE = ["plan", "llama-3.1-8b", "--nodes", "2", "--network", "ib-ndr", "--seq", "2048"]

CASES = [
    ("one card", ["--layout", "tp=2"], ["--gpu", "--emit"]),
    ("framework", ["--gpu", "h100-sxm-80gb", "--layout", "shard=fsdp", "--framework", "axolotl"],
     ["axolotl", "--framework", "--nodes / --layout"]),
    ("lora on torchtitan", ["--gpu", "h100-sxm-80gb", "--layout", "tp=2", "--method", "lora"],
     ["lora", "torchtitan", "--method full"]),
    ("fp16 on torchtitan", ["--gpu", "h100-sxm-80gb", "--layout", "pp=2,mb=2", "--precision",
                            "fp16"], ["fp16", "torchtitan", "amp-bf16"]),
]  # fmt: skip


@pytest.mark.parametrize(
    ("more", "says"), [(m, s) for _, m, s in CASES], ids=[n for n, _, _ in CASES]
)
def test_cluster_emit_refusals_in_both_languages(cli, tmp_path, more, says):
    folder = tmp_path / "out"
    en = cli(*BASE, *more, "--emit", str(folder))
    one_line(en, *says)
    assert not CJK.search(en.err)
    zh = cli(*BASE, *more, "--emit", str(folder), "--lang", "zh")
    one_line(zh, *says)
    said = zh.err.split("：", 1)[1]
    assert CJK.search(said), zh.err
    assert leftover_english(said, says) == [], zh.err
    assert not folder.exists()
