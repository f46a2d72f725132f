"""Plans read as words: settings are said, not printed as Python values ("True", "['...']"), an
offload's host RAM is never "0 GiB", and a breakdown with no gradients at its peak says why.

Issue 14, part 5: every plan of a spread (methods, precisions, strategies, offload, checkpointing,
LoRA targets) in English and Chinese, and recommend's workload line too.
"""

from __future__ import annotations

import re

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

SPREAD = [
    ["llama-3.1-8b", "--method", "full", "--gpu", "4090"],
    ["llama-3.1-8b", "--method", "lora", "--gpu", "3060"],
    ["llama-3.1-8b", "--method", "lora", "--lora-targets", "q_proj,v_proj", "--gpu", "2080 ti"],
    ["llama-3.1-8b", "--method", "lora", "--grad-checkpointing", "--gpu", "1080 ti"],
    ["qwen2.5-7b", "--method", "full", "--gpus", "4", "--strategy", "zero3", "--gpu", "4090"],
    ["qwen2.5-7b", "--method", "full", "--gpus", "2", "--strategy", "zero2-offload"],
    ["qwen2.5-14b", "--method", "qlora", "--gpu", "4060 ti 16gb", "--gpu", "3090"],
    ["gpt2", "--method", "full", "--seq", "1024", "--batch", "8", "--gpu", "3060"],
    ["qwen2.5-0.5b", "--method", "full", "--precision", "amp-bf16", "--gpus", "2"],
]

#: What a Python value looks like when printed as one.
PYTHON_VALUES = re.compile(r"\b(True|False|None)\b|\['|'\]")
ZERO_HOST = re.compile(r"\b0(\.0+)? GiB\b[^\n]*(host|主机)|needs 0 GiB|需要 0 GiB")


def _said(out: str) -> list[str]:
    return [m.group(0) for m in PYTHON_VALUES.finditer(out)] + [
        m.group(0) for m in ZERO_HOST.finditer(out)
    ]


@pytest.mark.parametrize("args", SPREAD, ids=[" ".join(a[:3]) for a in SPREAD])
@pytest.mark.parametrize("lang", ["en", "zh"])
def test_plan_says_settings_as_words(cli, args, lang):
    r = cli("plan", *args, "--lang", lang)
    assert r.code == 0, r.err
    assert _said(r.out) == [], r.out


def test_switch_and_lora_targets_are_words(cli):
    out = cli("plan", "llama-3.1-8b", "--method", "lora", "--gpu", "4090").out
    flat = " ".join(out.split())
    assert "grad checkpointing off" in flat
    assert "lora targets all linear layers" in flat
    zh = cli("plan", "llama-3.1-8b", "--method", "lora", "--grad-checkpointing", "--lang", "zh")
    flat = "".join(zh.out.split())
    assert "梯度检查点开启" in flat and "全部线性层" in flat
    some = cli("plan", "llama-3.1-8b", "--method", "lora", "--lora-targets", "q_proj,v_proj")
    assert "q_proj/v_proj" in " ".join(some.out.split())


def test_recommend_workload_line_is_words(cli):
    r = cli("recommend", "llama-3.1-8b", "--method", "lora", "--top", "3")
    assert r.code == 0, r.err
    assert _said(r.out) == []


@settings(
    max_examples=12, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    method=st.sampled_from(["full", "lora", "qlora"]),
    ckpt=st.booleans(),
    seq=st.sampled_from([512, 2048, 8192]),
    card=st.sampled_from(["3060", "4090", "1080 ti", "a100 80gb"]),
    targets=st.sampled_from([None, "all-linear", "q_proj,v_proj"]),
)
def test_any_plan_says_no_python_values(cli, method, ckpt, seq, card, targets):
    args = ["qwen2.5-7b", "--method", method, "--seq", str(seq), "--gpu", card]
    args += ["--grad-checkpointing"] if ckpt else []
    args += ["--lora-targets", targets] if targets and method != "full" else []
    r = cli("plan", *args)
    assert r.code == 0, r.err
    assert _said(r.out) == []


def test_offload_caveat_never_says_zero_host_ram(cli):
    # LoRA's optimizer states are a few hundred MiB: offloading them was said as "0 GiB"
    doc = cli(
        "plan", "llama-3.1-8b", "--method", "lora", "--seq", "8192", "--gpu", "3060", "--json"
    ).json()
    caveats = [
        str(c["caveat"])
        for c in doc["advice"]["fits_alone"] + doc["advice"]["not_enough"]
        if c["strategy"].endswith("offload")
    ]
    assert caveats, doc["advice"]
    for caveat in caveats:
        assert "host RAM" in caveat and not re.search(r"\b0 GiB", caveat), caveat


def test_full_fine_tune_says_why_no_gradients_at_its_peak(cli):
    # GPT-2 at 8 x 1024: the peak is at the loss (fp32 logits), before any gradient exists
    doc = cli("plan", "gpt2", "--method", "full", "--seq", "1024", "--batch", "8", "--json").json()
    assert doc["memory"]["breakdown"]["gradients"] == 0
    assert any("gradients: none at the peak" in str(n) for n in doc["memory"]["notes"])
    # at the optimizer step they are live: no such note
    doc = cli("plan", "llama-3.1-8b", "--method", "full", "--json").json()
    assert doc["memory"]["breakdown"]["gradients"] > 0
    assert not any("gradients: none" in str(n) for n in doc["memory"]["notes"])
