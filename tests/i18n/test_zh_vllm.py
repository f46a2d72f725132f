"""vLLM serving plans in Chinese: the notes (settings, how the memory is shared out, CUDA
graphs, tensor parallel, throughput), the tables and every refusal of vLLM's flags are in the
user's language, holding no English prose but names, flags, types and units."""

from __future__ import annotations

import json

import pytest

from ..checks import one_line
from .checks import leftover_english, table_lines_aligned

PLAN = ("plan", "llama-3.1-8b", "--task", "infer", "--engine", "vllm", "--no-search")
NAMES = ["vLLM", "V1", "bf16", "awq", "auto", "fp8", "gpu_memory_utilization", "all-reduce"]
NAMES += ["max_num_batched_tokens", "max_num_seqs", "torch", "NCCL", "CUDA", "tok/s", "tokens/s"]


def test_a_tensor_parallel_plan_says_its_notes_in_chinese(cli):
    r = cli(
        *PLAN,
        "--gpu",
        "3090",
        "--gpus",
        "2",
        "--gpu-memory-utilization",
        "0.3",
        "--json",
        "--lang",
        "zh",
    )
    assert r.code == 0, r.err
    card = json.loads(r.out)["cards"][0]
    notes = [*card["memory"]["notes"], *card["time"]["notes"]]
    assert any("张量并行" in n for n in notes) and any("拒绝启动" in n for n in notes)
    for note in notes:
        assert leftover_english(note, NAMES) == [], note
    english = json.loads(
        cli(*PLAN, "--gpu", "3090", "--gpus", "2", "--gpu-memory-utilization", "0.3", "--json").out
    )
    assert card["serving"] == english["cards"][0]["serving"]  # numbers unchanged


def test_the_tables_line_up_in_chinese(cli):
    r = cli(*PLAN, "--gpu", "4090", "--gpu", "3090", "--batch", "4", "--lang", "zh")
    assert r.code == 0, r.err
    assert "KV 缓存" in r.out and "吞吐量" in r.out and "--concurrency" in r.out
    assert table_lines_aligned(r.out) == []
    assert leftover_english(r.out, [*NAMES, "llama-3.1-8b", "GeForce", "RTX", "GiB", "MiB"]) == []


@pytest.mark.parametrize(
    "args",
    [
        ("--gpu-memory-utilization", "1.5"),
        ("--gpus", "3"),
        ("--concurrency", "0"),
        ("--max-num-batched-tokens", "64", "--max-num-seqs", "128"),
        ("--weight-dtype", "q4_k_m"),
        ("--kv-dtype", "q8_0"),
        ("--precision", "bf16"),
        ("--gpus", "2", "--strategy", "ddp"),
    ],
)
def test_every_refusal_of_the_vllm_flags_is_one_chinese_line(cli, args):
    r = cli(*PLAN, *args, "--lang", "zh")
    one_line(r)
    assert (
        leftover_english(
            r.err, ["gpuwise plan", "vLLM", "llama-3.1-8b", "q4_k_m", "q8_0", "awq", "gptq", "ddp"]
        )
        == []
    ), r.err


def test_vllm_flags_without_vllm_are_one_chinese_line(cli):
    r = cli("plan", "llama-3.1-8b", "--concurrency", "8", "--lang", "zh")
    one_line(r, "--concurrency")
    assert leftover_english(r.err, ["gpuwise plan", "vLLM"]) == [], r.err


def test_a_card_vllm_cannot_run_on_says_why_in_chinese(cli):
    r = cli(*PLAN, "--gpu", "2080 ti", "--gpu", "1080 ti", "--json", "--lang", "zh")
    assert r.code == 0, r.err
    for card in json.loads(r.out)["cards"]:
        (problem,) = card["problems"]
        assert "计算能力" in problem
        assert leftover_english(problem, [*NAMES, card["name"], "GeForce", "RTX", "GTX"]) == []
