"""Cold-process wall time of the fast-path commands (budgets: README, 'Accuracy and speed').

Each command runs as a new process N times (the first run warms the OS file cache, as on any
machine that has run a command once); the script prints median and max wall time of the rest.

Usage: python scripts/bench_cold.py [--runs 15] [--json]
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import subprocess
import sys
import time

COMMANDS = [
    ["gpus", "--json"],
    ["gpu", "rtx 4090", "--json"],
    ["model", "src/gpuwise/models/presets/llama-3.1-8b.json", "--json"],
    ["model", "deepseek-v3", "--json"],
    ["gpus"],
    ["plan", "llama-3.1-8b", "--method", "qlora", "--gpu", "3090", "--json"],
    ["plan", "qwen2.5-7b", "--method", "lora", "--batch", "4", "--seq", "1024", "--json"],
    ["plan", "mistral-7b-v0.3", "--task", "infer", "--weight-dtype", "int4", "--json"],
    ["plan"],
    ["recommend", "llama-3.1-70b", "--grad-checkpointing", "--json"],
    ["recommend", "qwen2.5-7b", "--method", "lora", "--budget", "2000", "--json"],
    ["plan", "llama-3.1-8b", "--gpus", "4", "--strategy", "zero3", "--json"],
]
BUDGET_S = 0.3


def time_once(args: list[str]) -> float:
    start = time.perf_counter()
    subprocess.run(
        [sys.executable, "-m", "gpuwise", *args],
        check=True,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    return time.perf_counter() - start


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=15)
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    rows = []
    for command in COMMANDS:
        time_once(command)
        times = [time_once(command) for _ in range(args.runs)]
        rows.append(
            {
                "command": "gpuwise " + " ".join(command),
                "median_s": round(statistics.median(times), 3),
                "max_s": round(max(times), 3),
            }
        )
    machine = {
        "python": platform.python_version(),
        "cpus": os.cpu_count(),
        "machine": platform.machine(),
        "runs": args.runs,
    }
    if args.json:
        print(json.dumps({"machine": machine, "results": rows}, indent=2))
    else:
        print(f"python {machine['python']}, {machine['cpus']} CPUs, {args.runs} cold runs each")
        for r in rows:
            verdict = "ok" if r["median_s"] < BUDGET_S else "OVER BUDGET"
            print(
                f"{r['median_s']:.3f} s median  {r['max_s']:.3f} s max  {verdict:<11} "
                f"{r['command']}"
            )
    return 0 if all(r["median_s"] < BUDGET_S for r in rows) else 1


if __name__ == "__main__":
    sys.exit(main())
