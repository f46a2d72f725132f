"""The per-rank grid: rank 0 of DDP / FSDP2 / HSDP jobs simulated exactly, vs the analytic model.

    python scripts/parallel_grid.py simulate [--jobs 2] [--only NAME]   # ~10 min on 2 cores
    python scripts/parallel_grid.py report                              # analytic vs file

``simulate`` runs every case through ``gpuwise.probe.simulate_parallel`` (torch's fake process
group, fake tensors, the CPU) and writes tests/accuracy/parallel_simulated.json with the
versions it ran on; ``report`` prints the analytic per-rank peak
(``gpuwise.memory.parallel.per_rank_memory``) against each recorded one.
tests/accuracy/test_parallel_accuracy.py asserts every case within 5 %.
"""

from __future__ import annotations

import argparse
import itertools
import json
import sys
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
RESULTS = ROOT / "tests/accuracy/parallel_simulated.json"
TINY = ROOT / "tests/accuracy/configs"

#: Real configs and the batch x seq shapes they run (per card).
REAL = {
    "llama-3.2-1b": [(1, 1024), (4, 512)],
    "qwen2.5-0.5b": [(2, 512)],
    "gemma-3-1b": [(1, 1024)],
    "gpt2": [(4, 512)],
}
#: Tiny configs (tied and untied heads, eager Gemma 2 attention) and their shapes.
TINY_MODELS = ("llama", "qwen2", "gemma2", "gemma3_text", "gpt2", "phi3")
TINY_SHAPES = [(2, 128)]
#: (strategy, gpus, shard_size): DDP keeps a full replica, so real models run it on 2 cards.
REAL_LAYOUTS = [("fsdp", 2, None), ("fsdp", 4, None), ("fsdp", 8, None), ("ddp", 2, None)]
REAL_LAYOUTS += [("fsdp-hybrid", 8, 4)]
TINY_LAYOUTS = [(s, n, None) for s in ("fsdp", "ddp") for n in (2, 4, 8)]
TINY_LAYOUTS += [("fsdp-hybrid", 4, 2)]
PRECISIONS = ("bf16", "amp-bf16")
METHODS = ("full", "lora")


def cases() -> list[dict[str, Any]]:
    models: list[tuple[str, str, list[tuple[int, int]], list[Any]]] = [
        (name, "real", shapes, REAL_LAYOUTS) for name, shapes in REAL.items()
    ]
    models += [
        (str(TINY / f"tiny-{t}.json"), "tiny", TINY_SHAPES, TINY_LAYOUTS) for t in TINY_MODELS
    ]
    out = []
    for name, kind, shapes, layouts in models:
        for (b, s), (strategy, gpus, shard), prec, method, ckpt in itertools.product(
            shapes, layouts, PRECISIONS, METHODS, (False, True)
        ):
            out.append(
                {
                    "model": name if kind == "real" else str(Path(name).relative_to(ROOT)),
                    "kind": kind,
                    "strategy": strategy,
                    "gpus": gpus,
                    "shard_size": shard,
                    "method": method,
                    "precision": prec,
                    "grad_checkpointing": ckpt,
                    "batch": b,
                    "seq": s,
                }
            )
    return out


def case_id(c: dict[str, Any]) -> str:
    model = Path(c["model"]).stem if c["kind"] == "tiny" else c["model"]
    shard = f"/{c['shard_size']}" if c["shard_size"] else ""
    ckpt = "-ckpt" if c["grad_checkpointing"] else ""
    return (
        f"{model}-{c['strategy']}{c['gpus']}{shard}-{c['method']}-{c['precision']}{ckpt}"
        f"-b{c['batch']}s{c['seq']}"
    )


def model_for(c: dict[str, Any]) -> tuple[dict[str, Any], Any]:
    from gpuwise.models.build import spec_from_config
    from gpuwise.models.resolve import resolve

    path = ROOT / c["model"] if c["kind"] == "tiny" else c["model"]
    found = resolve(str(path))
    spec = spec_from_config(
        found.config,
        name=found.name,
        source=found.source,
        where=found.where,
        assumptions=found.assumptions,
    )
    return found.config, spec


def workload(c: dict[str, Any], spec: Any) -> Any:
    from gpuwise.workload import Workload, validate

    return validate(
        Workload(
            method=c["method"],
            precision=c["precision"],
            grad_checkpointing=c["grad_checkpointing"],
            batch=c["batch"],
            seq=c["seq"],
        ),
        spec,
    )


def parallel(c: dict[str, Any]) -> Any:
    from gpuwise.parallel import Parallel, validate_parallel

    return validate_parallel(Parallel(c["strategy"], c["gpus"], c["shard_size"]))


def simulate_one(c: dict[str, Any]) -> dict[str, Any]:
    from gpuwise.probe.simulate_parallel import simulate_parallel

    config, spec = model_for(c)
    sim = simulate_parallel(config, spec, workload(c, spec), parallel(c))
    return {
        "id": case_id(c),
        "case": c,
        "peak_allocated_bytes": sim.peak_allocated_bytes,
        "peak_phase": sim.peak_phase,
        "breakdown": sim.breakdown,
        "detail": sim.detail,
        "seconds": round(sim.seconds, 2),
    }


def analytic(c: dict[str, Any]) -> int:
    from gpuwise.memory.rank import per_rank_memory

    _, spec = model_for(c)
    return per_rank_memory(spec, workload(c, spec), parallel(c)).peak_allocated_bytes


def _quiet_simulate(c: dict[str, Any]) -> dict[str, Any]:
    import logging
    import warnings

    warnings.filterwarnings("ignore")
    logging.disable(logging.WARNING)
    import transformers

    transformers.logging.set_verbosity_error()
    try:
        return simulate_one(c)
    except Exception as e:  # recorded, so one failure does not lose the grid
        return {"id": case_id(c), "case": c, "failed": f"{type(e).__name__}: {e}"[:500]}


def versions() -> dict[str, str]:
    import peft
    import torch
    import transformers

    return {
        "torch": torch.__version__,
        "transformers": transformers.__version__,
        "peft": peft.__version__,
        "python": sys.version.split()[0],
    }


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("action", choices=("simulate", "report"))
    ap.add_argument("--jobs", type=int, default=2)
    ap.add_argument("--only", help="cases whose id contains this")
    args = ap.parse_args()
    if args.action == "simulate":
        todo = [c for c in cases() if not args.only or args.only in case_id(c)]
        with ProcessPoolExecutor(args.jobs) as pool:
            rows = []
            for row in pool.map(_quiet_simulate, todo):
                rows.append(row)
                status = row.get("failed") or f"{row['peak_allocated_bytes']:>14,}"
                print(f"{len(rows):4}/{len(todo)} {row['id']:60} {status}", flush=True)
        doc = {
            "note": "rank 0 of each job, simulated by scripts/parallel_grid.py (torch fake "
            "process group, fake tensors, the reference step twice)",
            "versions": versions(),
            "cases": rows,
        }
        RESULTS.write_text(json.dumps(doc, indent=1) + "\n")
        return
    rows = json.loads(RESULTS.read_text())["cases"]
    worst = 0.0
    for row in rows:
        if "failed" in row:
            print(f"{row['id']:60} FAILED {row['failed']}")
            continue
        sim, ana = row["peak_allocated_bytes"], analytic(row["case"])
        err = (ana - sim) / sim
        worst = max(worst, abs(err))
        print(f"{row['id']:60} {sim / 2**20:11.1f} MiB {ana / 2**20:11.1f} MiB {100 * err:+7.2f} %")
    print(f"{len(rows)} cases, largest error {100 * worst:.2f} %")


if __name__ == "__main__":
    main()
