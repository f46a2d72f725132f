"""The accuracy grid: analytic plan vs exact simulation of the reference step.

    python scripts/accuracy_grid.py simulate [--jobs 2] [--only NAME]   # slow: re-simulates
    python scripts/accuracy_grid.py report                              # fast: analytic vs file

``simulate`` runs every case of the grid through ``probe --simulate`` (fake tensors, CPU) and
writes tests/accuracy/simulated.json with the versions it ran on; ``report`` compares the analytic
``peak_allocated_bytes`` with the simulated one for every case and prints the table the README
quotes (median and largest error per group). tests/accuracy/test_accuracy.py asserts every case
within 5 %.
"""

from __future__ import annotations

import argparse
import itertools
import json
import multiprocessing
import statistics
import sys
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
RESULTS = ROOT / "tests/accuracy/simulated.json"
TINY = ROOT / "tests/accuracy/configs"

#: Real configs (presets), one or more per model type, and the batch x seq shapes they run.
REAL = {
    "llama-3.2-1b": [(1, 512), (4, 1024)],
    "qwen2.5-0.5b": [(2, 512), (4, 2048)],
    "gpt2": [(4, 512), (8, 1024)],
    "bert-base-uncased": [(8, 128), (16, 512)],
    "pythia-1.4b": [(1, 1024), (4, 2048)],
    "gemma-3-1b": [(1, 1024), (2, 2048)],
    "phi-3-mini": [(1, 2048)],
    "qwen3-8b": [(1, 1024)],
    "gemma-2-9b": [(1, 1024)],
    "mistral-7b-v0.3": [(1, 2048)],
    "glm-4-9b": [(1, 1024)],
}
PRECISIONS = ("bf16", "amp-bf16", "fp32")
METHODS = ("full", "lora")


def tiny_configs() -> dict[str, Path]:
    return {p.stem: p for p in sorted(TINY.glob("*.json"))}


def cases() -> list[dict[str, Any]]:
    out = []
    models: list[tuple[str, str, list[tuple[int, int]]]] = [
        (name, "real", shapes) for name, shapes in REAL.items()
    ]
    models += [(str(path), "tiny", [(2, 128), (4, 256)]) for path in tiny_configs().values()]
    for name, kind, shapes in models:
        for (b, s), prec, method, ckpt in itertools.product(
            shapes, PRECISIONS, METHODS, (False, True)
        ):
            out.append(
                dict(
                    model=name,
                    kind=kind,
                    batch=b,
                    seq=s,
                    precision=prec,
                    method=method,
                    grad_checkpointing=ckpt,
                    task="train",
                )
            )
        if "bert" in Path(name).stem:  # an encoder: no generation, no inference plan
            continue
        for b, s in shapes:
            for prec in ("bf16", "fp32"):
                out.append(
                    dict(
                        model=name,
                        kind=kind,
                        batch=b,
                        seq=s,
                        precision=prec,
                        method="full",
                        grad_checkpointing=False,
                        task="infer",
                    )
                )
    out += extra_cases()
    return out


#: Beyond the grid: LoRA on some linears only, and the other optimizers.
EXTRA_MODELS = {
    "llama-3.2-1b": ("real", (2, 1024), ("q_proj", "v_proj")),
    str(TINY / "tiny-llama.json"): ("tiny", (4, 256), ("q_proj", "v_proj")),
    str(TINY / "tiny-gpt2.json"): ("tiny", (4, 256), ("c_attn",)),
}


def extra_cases() -> list[dict[str, Any]]:
    out = []
    for name, (kind, (b, s), targets) in EXTRA_MODELS.items():
        base = dict(model=name, kind=kind, batch=b, seq=s, task="train", grad_checkpointing=False)
        for prec in PRECISIONS:
            out.append(dict(base, precision=prec, method="lora", lora_targets=list(targets)))
        for opt in ("adamw-fused", "sgd"):  # adafactor reads values: not simulated
            for prec in ("bf16", "fp32"):
                out.append(dict(base, precision=prec, method="full", optimizer=opt))
    return out


def case_id(c: dict[str, Any]) -> str:
    model = Path(c["model"]).stem if c["kind"] == "tiny" else c["model"]
    if c["task"] == "infer":
        return f"{model} infer {c['precision']} b{c['batch']} s{c['seq']}"
    ck = " ckpt" if c["grad_checkpointing"] else ""
    extra = ""
    if c.get("lora_targets"):
        extra += " " + "+".join(c["lora_targets"])
    if c.get("optimizer"):
        extra += " " + c["optimizer"]
    return f"{model} {c['method']}{extra} {c['precision']}{ck} b{c['batch']} s{c['seq']}"


def workload(c: dict[str, Any]) -> Any:
    from gpuwise.workload import Workload

    return Workload(
        task=c["task"],
        method=c["method"],
        precision=c["precision"],
        batch=c["batch"],
        seq=c["seq"],
        grad_checkpointing=c["grad_checkpointing"],
        lora_targets=tuple(c.get("lora_targets") or ("all-linear",)),
        optimizer=c.get("optimizer", "adamw"),
    )


def model_for(c: dict[str, Any]) -> tuple[dict[str, Any], Any]:
    from gpuwise.models import load_model
    from gpuwise.models.resolve import resolve

    return resolve(c["model"]).config, load_model(c["model"])


def simulate_one(c: dict[str, Any]) -> dict[str, Any]:
    from gpuwise.probe.simulate import simulate

    config, spec = model_for(c)
    try:
        s = simulate(config, spec, workload(c))
    except Exception as e:  # record, keep going
        return {"id": case_id(c), "case": c, "error": f"{type(e).__name__}: {e}"[:300]}
    return {
        "id": case_id(c),
        "case": c,
        "peak_allocated_bytes": s.peak_allocated_bytes,
        "breakdown": s.breakdown,
        "peak_phase": s.peak_phase,
        "attn_implementation": s.attn_implementation,
        "seconds": round(s.seconds, 2),
        "versions": s.versions,
    }


def analytic(c: dict[str, Any]) -> int:
    from gpuwise.plan import estimate_memory

    _, spec = model_for(c)
    return estimate_memory(spec, workload(c)).peak_allocated_bytes


def report(results: list[dict[str, Any]]) -> list[dict[str, Any]]:
    rows = []
    for r in results:
        if "error" in r:
            continue
        est = analytic(r["case"])
        err = (est - r["peak_allocated_bytes"]) / r["peak_allocated_bytes"]
        rows.append({**r, "analytic": est, "error": err})
    return rows


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("what", choices=("simulate", "report"))
    ap.add_argument("--jobs", type=int, default=2)
    ap.add_argument("--only", default="", help="only cases whose id contains this")
    ap.add_argument("--failed", action="store_true", help="simulate only the cases that failed")
    ap.add_argument("--worst", type=int, default=15)
    a = ap.parse_args()
    if a.what == "simulate":
        todo = [c for c in cases() if a.only in case_id(c)]
        if a.failed and RESULTS.exists():
            ok = {
                r["id"]
                for r in json.loads(RESULTS.read_text())["cases"]
                if "peak_allocated_bytes" in r
            }
            todo = [c for c in todo if case_id(c) not in ok]
        ctx = multiprocessing.get_context("spawn")
        with ProcessPoolExecutor(a.jobs, mp_context=ctx) as pool:
            done = []
            for i, r in enumerate(pool.map(simulate_one, todo)):
                done.append(r)
                print(
                    f"[{i + 1}/{len(todo)}] {r['id']}: "
                    f"{r.get('peak_allocated_bytes', r.get('error'))}",
                    flush=True,
                )
        old = json.loads(RESULTS.read_text())["cases"] if RESULTS.exists() else []
        current = {case_id(c) for c in cases()}
        keep = {r["id"]: r for r in old if r["id"] in current}
        keep.update({r["id"]: r for r in done})
        versions = next((r["versions"] for r in done if "versions" in r), {})
        RESULTS.write_text(
            json.dumps(
                {
                    "note": "written by scripts/accuracy_grid.py simulate; do not edit",
                    "versions": versions,
                    "cases": sorted(keep.values(), key=lambda r: r["id"]),
                },
                indent=1,
            )
            + "\n"
        )
        return
    results = json.loads(RESULTS.read_text())["cases"]
    rows = report([r for r in results if a.only in r["id"]])
    errors = [abs(r["error"]) for r in rows]
    groups: dict[str, list[float]] = {}
    for r in rows:
        c = r["case"]
        key = (
            f"{c['kind']} {c['task']}"
            if c["task"] == "infer"
            else f"{c['kind']} {c['method']} {c['precision']}"
        )
        groups.setdefault(key, []).append(abs(r["error"]))
    print(
        f"{len(rows)} cases; median |error| {100 * statistics.median(errors):.2f} %, "
        f"max {100 * max(errors):.2f} %; within 5 %: {sum(e <= 0.05 for e in errors)}"
    )
    print("| group | cases | median error | max error |\n| --- | ---: | ---: | ---: |")
    for key, errs in sorted(groups.items()):
        print(
            f"| {key} | {len(errs)} | {100 * statistics.median(errs):.2f} % | "
            f"{100 * max(errs):.2f} % |"
        )
    print("\nworst cases:")
    for r in sorted(rows, key=lambda r: -abs(r["error"]))[: a.worst]:
        print(
            f"  {r['id']:55s} sim {r['peak_allocated_bytes'] / 2**30:9.3f} GiB "
            f"analytic {r['analytic'] / 2**30:9.3f} GiB  {100 * r['error']:+6.2f} %  "
            f"({r['peak_phase']})"
        )
    failed = [r for r in results if "error" in r and isinstance(r["error"], str)]
    if failed:
        print(
            f"\n{len(failed)} cases did not simulate: "
            + "; ".join(f"{r['id']}: {r['error'][:80]}" for r in failed[:5])
        )
    sys.exit(0)


if __name__ == "__main__":
    main()
