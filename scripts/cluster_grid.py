"""The cluster grid: one rank of TP / PP layouts simulated on fake tensors, vs the analytic model.

    python scripts/cluster_grid.py simulate [--jobs 2] [--only TEXT]   # ~25 min on 2 cores
    python scripts/cluster_grid.py report [--only TEXT]                # analytic vs file

``simulate`` runs every case through ``gpuwise.probe.simulate_cluster`` (torch's fake process
group, fake tensors, the CPU; rank 0 of the tensor- and data-parallel groups of one pipeline
stage) and writes tests/accuracy/cluster_simulated.json with the versions it ran on;
``report`` prints the analytic figure of that stage (``gpuwise.cluster.memory.stage_memory``,
less the CUDA context and NCCL's buffers, which no tensor holds) against each recorded one,
term by term. tests/accuracy/test_cluster_accuracy.py asserts every case within 5 %.
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
RESULTS = ROOT / "tests/accuracy/cluster_simulated.json"
TINY = ROOT / "tests/cluster/configs"

#: Tiny Llama-shaped configs (4 KV heads, so tp=4 divides them; 8 layers, so pp=4 has 2 a stage):
#: an untied head (Llama) and a tied one with q/k/v biases (Qwen2).
TINY_MODELS = ("tiny-llama-tp", "tiny-qwen2-tp")
TINY_SHAPES = [(2, 128)]
#: (layout text, stages simulated): TP with and without sequence parallel, TP x FSDP,
#: pipelines' first, middle and last stages, and TP inside a pipeline.
LAYOUTS: list[tuple[str, tuple[int, ...]]] = [
    ("tp=2", (0,)),
    ("tp=4", (0,)),
    ("tp=2,sp", (0,)),
    ("tp=4,sp", (0,)),
    ("tp=2,dp=2,shard=fsdp", (0,)),
    ("pp=2,mb=4", (0, 1)),
    ("pp=4,mb=4", (0, 1, 3)),
    ("tp=2,pp=2,sp,mb=2", (0, 1)),
]
#: Real configs (tied heads; Qwen2.5-0.5B: 14 heads / 2 KV heads, 24 layers, a 152k vocabulary;
#: Llama-3.2-1B: 32 / 8, 16 layers, 128k), a few layouts at one shape, checkpointing off (a
#: minute or two a case on a shared 2-core machine).
REAL = {"qwen2.5-0.5b": [(1, 512)], "llama-3.2-1b": [(1, 1024)]}
REAL_LAYOUTS: list[tuple[str, tuple[int, ...]]] = [
    ("tp=2,sp", (0,)),
    ("pp=2,mb=2", (0, 1)),
]
REAL_CHECKPOINTING = (False,)
METHODS = ("full", "lora")
#: 16-bit models (tiny and real) and amp-bf16 (fp32 weights, gradients and states, bf16
#: compute under autocast; FSDP2 with MixedPrecisionPolicy(bf16, reduce fp32)) for the tiny ones.
PRECISIONS = ("bf16", "amp-bf16")
REAL_PRECISIONS = ("bf16",)


def cases() -> list[dict[str, Any]]:
    models: list[tuple[str, str, list[tuple[int, int]], list[Any]]] = [
        (str((TINY / f"{t}.json").relative_to(ROOT)), "tiny", TINY_SHAPES, LAYOUTS)
        for t in TINY_MODELS
    ]
    models += [(name, "real", shapes, REAL_LAYOUTS) for name, shapes in REAL.items()]
    out = []
    for name, kind, shapes, layouts in models:
        ckpts = REAL_CHECKPOINTING if kind == "real" else (False, True)
        precisions = REAL_PRECISIONS if kind == "real" else PRECISIONS
        for (b, s), (layout, stages), method, prec, ckpt in itertools.product(
            shapes, layouts, METHODS, precisions, ckpts
        ):
            for stage in stages:
                out.append(
                    {
                        "model": name,
                        "kind": kind,
                        "layout": layout,
                        "stage": stage,
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
    ckpt = "-ckpt" if c["grad_checkpointing"] else ""
    return (
        f"{model}-[{c['layout']}]-s{c['stage']}-{c['method']}-{c['precision']}{ckpt}"
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


def layout(c: dict[str, Any]) -> Any:
    """The case's layout; dp is 1 unless the text names it."""
    from gpuwise.cluster.layout import parse_layout

    found = parse_layout(c["layout"], 1024)
    assert found is not None
    if "dp=" in c["layout"]:
        return found
    return parse_layout(c["layout"], found.tp * found.pp * found.cp)


def cluster(c: dict[str, Any]) -> Any:
    """One node of the layout's GPUs (the memory of a rank does not depend on the card)."""
    from gpuwise.catalog import load_catalog
    from gpuwise.cluster import make_cluster

    return make_cluster(load_catalog().find("h100 sxm"), 1, layout(c).world, None)


def simulate_one(c: dict[str, Any]) -> dict[str, Any]:
    from gpuwise.probe.simulate_cluster import simulate_cluster

    config, spec = model_for(c)
    sim = simulate_cluster(config, spec, workload(c, spec), layout(c), stage=c["stage"])
    return {
        "id": case_id(c),
        "case": c,
        "peak_allocated_bytes": sim.peak_allocated_bytes,
        "peak_phase": sim.peak_phase,
        "in_flight": sim.in_flight,
        "layers": list(sim.layers),
        "breakdown": sim.breakdown,
        "detail": sim.detail,
        "phase_peaks": sim.phase_peaks,
        "seconds": round(sim.seconds, 2),
    }


def analytic_terms(c: dict[str, Any]) -> dict[str, int]:
    """The analytic stage's bytes that tensors hold (the CUDA context, allocator overhead and
    NCCL's own buffers left out): weights, gradients, optimizer, activations, the optimizer
    step's temporaries, p2p buffers."""
    from gpuwise.cluster.memory import rules, stage_memory
    from gpuwise.units import MIB

    _, spec = model_for(c)
    lay = layout(c)
    g = stage_memory(spec, workload(c, spec), cluster(c), lay, c["stage"])
    groups = sum(n > 1 for n in (lay.tp, lay.cp, lay.pp, lay.dp))
    nccl = groups * int(rules()["nccl_buffer_mib_per_communicator"]["value"]) * MIB
    return {
        "weights": g.weights,
        "gradients": g.gradients,
        "optimizer": g.optimizer,
        "activations": g.activations,
        "temporaries": getattr(g, "temporaries", 0),
        "buffers": g.comm_buffers - nccl,
        "in_flight": g.in_flight,
    }


def analytic(c: dict[str, Any]) -> int:
    from gpuwise.cluster.memory import stage_memory
    from gpuwise.probe.simulate_cluster import analytic_tensor_bytes

    _, spec = model_for(c)
    lay = layout(c)
    planned = stage_memory(spec, workload(c, spec), cluster(c), lay, c["stage"])
    return analytic_tensor_bytes(planned, lay)


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


def _mib(n: float) -> str:
    return f"{n / 2**20:9.2f}"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("action", choices=("simulate", "report"))
    ap.add_argument("--jobs", type=int, default=2)
    ap.add_argument("--only", help="cases whose id contains this")
    args = ap.parse_args()
    if args.action == "simulate":
        todo = [c for c in cases() if not args.only or args.only in case_id(c)]
        old = json.loads(RESULTS.read_text())["cases"] if RESULTS.exists() and args.only else []
        with ProcessPoolExecutor(args.jobs) as pool:
            rows = []
            for row in pool.map(_quiet_simulate, todo):
                rows.append(row)
                status = row.get("failed") or f"{row['peak_allocated_bytes']:>14,}"
                print(f"{len(rows):4}/{len(todo)} {row['id']:64} {status}", flush=True)
        fresh = {r["id"] for r in rows}
        doc = {
            "note": "one rank of each layout, simulated by scripts/cluster_grid.py (torch fake "
            "process group, fake tensors, two optimizer steps of the 1F1B schedule)",
            "versions": versions(),
            "cases": [r for r in old if r["id"] not in fresh] + rows,
        }
        order = {case_id(c): i for i, c in enumerate(cases())}
        doc["cases"].sort(key=lambda r: order.get(r["id"], len(order)))
        RESULTS.write_text(json.dumps(doc, indent=1) + "\n")
        return
    rows = json.loads(RESULTS.read_text())["cases"]
    worst = 0.0
    print(
        f"{'case':64} {'simulated':>9} {'analytic':>9} {'error':>8}   "
        "MiB: weights grads states acts(+bufs) sim | ana; in flight sim/ana"
    )
    for row in rows:
        if args.only and args.only not in row["id"]:
            continue
        if "failed" in row:
            print(f"{row['id']:64} FAILED {row['failed']}")
            continue
        sim = row["peak_allocated_bytes"]
        t = analytic_terms(row["case"])
        ana = analytic(row["case"])
        err = (ana - sim) / sim
        worst = max(worst, abs(err))
        b = row["breakdown"]
        sim_terms = (
            b["weights"],
            b["gradients"],
            b["optimizer"],
            b["activations"] + b["temporaries"],
        )
        ana_terms = (
            t["weights"],
            t["gradients"],
            t["optimizer"],
            t["activations"] + t["temporaries"] + t["buffers"],
        )
        print(
            f"{row['id']:64} {_mib(sim)} {_mib(ana)} {100 * err:+7.2f} %   "
            + " ".join(_mib(x).strip() for x in sim_terms)
            + " | "
            + " ".join(_mib(x).strip() for x in ana_terms)
            + f"; {row['in_flight']}/{t['in_flight']} {row['peak_phase']}"
        )
    print(f"{len(rows)} cases, largest error {100 * worst:.2f} %")


if __name__ == "__main__":
    main()
