"""Check that a speed-up changed no output: run the same commands in two source trees and diff.

Every row of ``scripts/bench_cold.py`` and a broad set of ``plan``, ``explain`` and
``recommend`` command lines (strategies, methods, memory tricks, inference engines, budgets and
objectives, mixed machines, a user file of 10,000 cards, Chinese tables) run once with each
tree's ``src`` first on ``PYTHONPATH``; stdout, stderr and the exit code must be byte-identical.

Usage: python scripts/speed_identity.py BASE_TREE [TREE] [--many-cards N] [--jobs 2] [--only TEXT]
(TREE defaults to this checkout; e.g. ``git worktree add --detach /tmp/base main`` for BASE_TREE)
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "scripts"))

import bench_cold  # noqa: E402  (the benchmark's rows and its card file)

C = bench_cold.CONFIG
Q = "qwen2.5-7b"
LORA = ["--method", "lora"]

#: Command lines beyond the benchmark's rows (``{cards}``: the many-card user file).
EXTRA: list[list[str]] = [
    # plan: cards, strategies, methods, precisions, memory tricks
    ["plan", C, "--json"],
    ["plan", C],
    ["plan", C, "--lang", "zh"],
    ["plan", C, "--gpu", "4090", "--lang", "zh"],
    ["plan", C, "--gpu", "4090,3090,a100-80gb,h100", "--tokens", "1B", "--json"],
    ["plan", C, "--gpu", "1080 ti", "--json"],
    ["plan", C, "--gpu", "2080 ti", "--method", "lora", "--json"],
    ["plan", Q, "--method", "full", "--gpu", "4090", "--json"],
    ["plan", Q, "--method", "qlora", "--gpu", "3090", "--batch", "8", "--json"],
    ["plan", Q, "--method", "qlora", "--no-upcast", "--gpu", "3090", "--json"],
    ["plan", Q, *LORA, "--precision", "fp32", "--gpu", "4090", "--json"],
    ["plan", Q, *LORA, "--precision", "amp-fp16", "--gpu", "t4", "--json"],
    ["plan", Q, *LORA, "--precision", "amp-bf16", "--gpu", "a100 pcie 80 gb", "--json"],
    ["plan", Q, *LORA, "--lora-rank", "64", "--lora-targets", "q_proj,v_proj", "--json"],
    ["plan", Q, *LORA, "--grad-checkpointing", "--batch", "8", "--json"],
    ["plan", Q, *LORA, "--grad-checkpointing", "offload", "--gpu", "4090", "--json"],
    ["plan", Q, *LORA, "--loss", "chunked", "--gpu", "4090", "--json"],
    ["plan", Q, *LORA, "--loss", "fused", "--packing", "--gpu", "4090", "--json"],
    ["plan", Q, "--optimizer", "adamw-8bit", "--gpu", "a100-80gb", "--json"],
    ["plan", Q, "--optimizer", "sgd", "--gpu", "h100", "--json"],
    ["plan", Q, "--optimizer", "adafactor", "--gpu", "h100", "--json"],
    ["plan", Q, *LORA, "--framework", "unsloth", "--gpu", "4090", "--json"],
    ["plan", Q, *LORA, "--framework", "llamafactory", "--gpu", "4090", "--json"],
    ["plan", Q, "--method", "qlora", "--framework", "axolotl", "--gpu", "3090", "--json"],
    ["plan", C, "--gpus", "2", "--strategy", "ddp", "--gpu", "4090", "--json"],
    ["plan", C, "--gpus", "4", "--strategy", "fsdp", "--gpu", "4090", "--json"],
    ["plan", C, "--gpus", "8", "--strategy", "fsdp-hybrid", "--shard-size", "4", "--json"],
    ["plan", C, "--gpus", "4", "--strategy", "fsdp-offload", "--gpu", "3090", "--json"],
    ["plan", C, "--gpus", "2", "--strategy", "zero1", "--gpu", "a100 pcie 80 gb", "--json"],
    ["plan", C, "--gpus", "2", "--strategy", "zero2", "--gpu", "a100 pcie 80 gb", "--json"],
    ["plan", C, "--gpus", "4", "--strategy", "zero2-offload", "--gpu", "4090", "--json"],
    ["plan", C, "--gpus", "4", "--strategy", "zero3-offload", "--gpu", "4090", "--json"],
    ["plan", C, "--gpus", "4", "--strategy", "zero3", "--grad-accum", "4", "--json"],
    ["plan", C, "--gpus", "4", "--strategy", "fsdp", "--gpu", "4090", "--lang", "zh"],
    ["plan", C, "--grad-accum", "8", "--gpu", "4090", "--json"],
    ["plan", "llama-3.1-70b", "--method", "qlora", "--gpus", "2", "--strategy", "fsdp", "--json"],
    ["plan", "gpt2", "--batch", "8", "--seq", "512", "--json"],
    ["plan", "deepseek-v3", "--method", "lora", "--gpu", "h200", "--json"],
    # inference: transformers, llama.cpp, Ollama, vLLM
    ["plan", C, "--task", "infer", "--json"],
    ["plan", C, "--task", "infer", "--kv-dtype", "fp8", "--gpu", "4090", "--json"],
    ["plan", Q, "--task", "infer", "--weight-dtype", "int8", "--batch", "8", "--json"],
    ["plan", Q, "--task", "infer", "--weight-dtype", "fp8", "--gpu", "h100", "--json"],
    ["plan", C, "--task", "infer", "--weight-dtype", "q8_0", "--gpu", "3060", "--json"],
    ["plan", C, "--task", "infer", "--engine", "ollama", "--gpu", "4060", "--json"],
    [
        "plan",
        "llama-3.1-70b",
        "--task",
        "infer",
        "--weight-dtype",
        "q4_k_m",
        "--gpus",
        "2",
        "--gpu",
        "3090",
        "--json",
    ],
    [
        "plan",
        "llama-3.1-70b",
        "--task",
        "infer",
        "--weight-dtype",
        "q4_k_m",
        "--gpu",
        "4090+3090",
        "--json",
    ],
    [
        "plan",
        C,
        "--task",
        "infer",
        "--weight-dtype",
        "q4_k_m",
        "--gpu-layers",
        "20",
        "--gpu",
        "3060",
        "--json",
    ],
    ["plan", C, "--task", "infer", "--weight-dtype", "q4_k_m", "--gpu", "4090", "--lang", "zh"],
    [
        "plan",
        C,
        "--task",
        "infer",
        "--engine",
        "vllm",
        "--gpu",
        "4090",
        "--concurrency",
        "16",
        "--json",
    ],
    [
        "plan",
        "llama-3.1-70b",
        "--task",
        "infer",
        "--engine",
        "vllm",
        "--gpus",
        "4",
        "--gpu",
        "a100-80gb",
        "--json",
    ],
    ["plan", C, "--task", "infer", "--engine", "vllm", "--gpu", "4090", "--lang", "zh"],
    # explain
    ["explain", C, "--gpu", "4090", "--json"],
    ["explain", Q, *LORA, "--gpu", "3090"],
    ["explain", C, "--gpu", "4090", "--lang", "zh"],
    # recommend: objectives, budgets, limits, inference, machines, user cards, Chinese
    ["recommend", C, *LORA],
    ["recommend", C, *LORA, "--lang", "zh"],
    ["recommend", C, "--json"],
    ["recommend", C, *LORA, "--top", "0", "--json"],
    ["recommend", Q, "--method", "full", "--top", "0", "--json"],
    ["recommend", C, "--task", "infer", "--top", "0", "--json"],
    ["recommend", C, "--method", "qlora", "--json"],
    ["recommend", C, "--method", "full", "--grad-checkpointing", "--json"],
    ["recommend", Q, *LORA, "--budget", "2000", "--objective", "cheapest", "--json"],
    ["recommend", Q, *LORA, "--budget", "5000", "--objective", "fastest", "--json"],
    ["recommend", Q, *LORA, "--objective", "tokens-per-dollar", "--json"],
    ["recommend", Q, *LORA, "--tokens", "1B", "--objective", "cost-to-finish", "--json"],
    ["recommend", Q, *LORA, "--tokens", "1B", "--deadline", "48h", "--json"],
    ["recommend", Q, *LORA, "--budget", "15000", "--currency", "cny", "--json"],
    ["recommend", Q, *LORA, "--budget", "15000", "--currency", "cny", "--lang", "zh"],
    ["recommend", Q, *LORA, "--max-gpus", "2", "--max-power", "700", "--json"],
    ["recommend", Q, "--method", "full", "--host-ram", "64", "--json"],
    ["recommend", Q, "--method", "full", "--no-offload", "--json"],
    ["recommend", Q, *LORA, "--series", "RTX 30", "--json"],
    ["recommend", Q, *LORA, "--gpu", "4090", "--gpu", "3090", "--json"],
    ["recommend", Q, "--method", "full", "--have", "4090", "--json"],
    ["recommend", Q, "--method", "full", "--have", "3090", "--lang", "zh"],
    ["recommend", Q, *LORA, "--grad-accum", "4", "--batch", "8", "--json"],
    ["recommend", Q, *LORA, "--reserve", "1", "--top", "40", "--json"],
    ["recommend", "llama-3.1-70b", "--method", "qlora", "--json"],
    ["recommend", C, "--task", "infer", "--json"],
    ["recommend", C, "--task", "infer", "--weight-dtype", "int4", "--budget", "1000", "--json"],
    ["recommend", C, "--task", "infer", "--lang", "zh"],
    ["recommend", C, "--task", "infer", "--engine", "ollama", "--json"],
    [
        "recommend",
        "llama-3.1-70b",
        "--task",
        "infer",
        "--weight-dtype",
        "q4_k_m",
        "--gpu",
        "4090+3090",
        "--json",
    ],
    [
        "recommend",
        "llama-3.1-70b",
        "--task",
        "infer",
        "--weight-dtype",
        "q4_k_m",
        "--max-gpus",
        "4",
        "--lang",
        "zh",
    ],
    ["recommend", C, *LORA, "--catalog", "{cards}", "--json"],
    ["recommend", C, *LORA, "--catalog", "{cards}", "--top", "0", "--json"],
    ["recommend", C, *LORA, "--catalog", "{cards}", "--top", "30"],
    ["recommend", C, *LORA, "--catalog", "{cards}", "--budget", "3000", "--lang", "zh"],
    ["recommend", C, "--task", "infer", "--catalog", "{cards}", "--json"],
    ["plan", C, "--catalog", "{cards}", "--gpu", "GeForce RTX 4090 U801", "--json"],
    # bad input: the same one line
    ["plan", C, "--gpus", "3", "--strategy", "fsdp-hybrid", "--shard-size", "2"],
    ["recommend", C, "--budget", "-1"],
]


def run(tree: Path, argv: list[str], env: dict[str, str]) -> tuple[int, bytes, bytes]:
    env = {**env, "PYTHONPATH": str(tree / "src")}
    done = subprocess.run(
        [sys.executable, "-m", "gpuwise", *argv], capture_output=True, env=env, cwd=ROOT
    )
    return done.returncode, done.stdout, done.stderr


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("base", type=Path)
    parser.add_argument("tree", type=Path, nargs="?", default=ROOT)
    parser.add_argument("--many-cards", type=int, default=10_000)
    parser.add_argument("--jobs", type=int, default=2)
    parser.add_argument("--only", default="", help="only the command lines containing this")
    args = parser.parse_args()
    folder = tempfile.mkdtemp()
    cards = bench_cold.many_cards(args.many_cards, folder)
    env = {**os.environ, "HOME": tempfile.mkdtemp(), "GPUWISE_BENCH_DIR": folder}
    env.pop("GPUWISE_CATALOG", None)
    commands = [c for c, _ in bench_cold.COMMANDS] + EXTRA
    commands = [[a.replace("{cards}", cards) for a in c] for c in commands]
    commands = [c for c in commands if args.only in " ".join(c)]

    def check(argv: list[str]) -> tuple[list[str], bool, str]:
        a, b = run(args.base, argv, env), run(args.tree, argv, env)
        if a == b:
            return argv, True, f"exit {a[0]}, {len(a[1]):,} bytes"
        what = [n for n, x, y in zip(("exit", "stdout", "stderr"), a, b, strict=True) if x != y]
        return argv, False, "differ: " + ", ".join(what)

    failed = 0
    with ThreadPoolExecutor(args.jobs) as pool:
        for argv, same, said in pool.map(check, commands):
            failed += not same
            print(f"{'same' if same else 'DIFFERENT':<9} {said:<24} gpuwise {' '.join(argv)}")
    print(f"{len(commands) - failed} of {len(commands)} commands byte-identical")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
