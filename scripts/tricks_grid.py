"""The memory tricks' grid: analytic plan vs exact simulation, for every trick the simulator
runs (``--loss chunked``, ``--loss fused``, ``--grad-checkpointing offload``).

    python scripts/tricks_grid.py simulate    # slow: simulates every case (one process)
    python scripts/tricks_grid.py report      # fast: analytic vs the recorded simulation

``simulate`` writes tests/accuracy/tricks_simulated.json with the versions it ran on;
tests/memory/test_tricks.py holds every case within 5 %.
"""

from __future__ import annotations

import argparse
import itertools
import json
import sys
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "scripts"))

import accuracy_grid as grid  # noqa: E402

RESULTS = ROOT / "tests/accuracy/tricks_simulated.json"

#: Two tiny configs (3 layers) at two lengths and two real ones (16 and 24 layers).
MODELS = {
    str(grid.TINY / "tiny-llama.json"): ("tiny", [(2, 128), (4, 256)]),
    str(grid.TINY / "tiny-gpt2.json"): ("tiny", [(2, 128), (4, 256)]),
    "llama-3.2-1b": ("real", [(1, 1024)]),
    "qwen2.5-0.5b": ("real", [(1, 1024)]),
}
#: The tricks, as workload fields; offloading needs checkpointing.
TRICKS: dict[str, dict[str, Any]] = {
    "chunked": {"loss": "chunked"},
    "fused": {"loss": "fused"},
    "offload": {"ckpt_offload": True},
    "chunked+offload": {"loss": "chunked", "ckpt_offload": True},
}


def cases() -> list[dict[str, Any]]:
    out = []
    for model, (kind, shapes) in MODELS.items():
        for (b, s), trick, method, prec, ckpt in itertools.product(
            shapes, TRICKS, ("full", "lora"), ("bf16", "amp-bf16"), (False, True)
        ):
            if TRICKS[trick].get("ckpt_offload") and not ckpt:
                continue
            out.append(
                dict(
                    model=model,
                    kind=kind,
                    batch=b,
                    seq=s,
                    precision=prec,
                    method=method,
                    grad_checkpointing=ckpt,
                    task="train",
                    trick=trick,
                )
            )
    return out


def case_id(c: dict[str, Any]) -> str:
    return f"{grid.case_id(c)} {c['trick']}"


def workload(c: dict[str, Any]) -> Any:
    return grid.workload(c).with_(**TRICKS[c["trick"]])


def simulate_one(c: dict[str, Any]) -> dict[str, Any]:
    from gpuwise.probe.simulate import simulate

    config, spec = grid.model_for(c)
    s = simulate(config, spec, workload(c))
    return {
        "id": case_id(c),
        "case": c,
        "peak_allocated_bytes": s.peak_allocated_bytes,
        "peak_phase": s.peak_phase,
        "versions": s.versions,
    }


def analytic(c: dict[str, Any]) -> int:
    from gpuwise.plan import estimate_memory

    _, spec = grid.model_for(c)
    return estimate_memory(spec, workload(c)).peak_allocated_bytes


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("what", choices=("simulate", "report"))
    ap.add_argument("--only", default="", help="only cases whose id contains this")
    a = ap.parse_args()
    if a.what == "simulate":
        done = []
        todo = [c for c in cases() if a.only in case_id(c)]
        for i, c in enumerate(todo):
            r = simulate_one(c)
            done.append(r)
            print(f"[{i + 1}/{len(todo)}] {r['id']}: {r['peak_allocated_bytes']}", flush=True)
        old = json.loads(RESULTS.read_text())["cases"] if RESULTS.exists() else []
        keep = {r["id"]: r for r in old if r["id"] in {case_id(c) for c in cases()}}
        keep.update({r["id"]: r for r in done})
        RESULTS.write_text(
            json.dumps(
                {
                    "note": "written by scripts/tricks_grid.py simulate; do not edit",
                    "versions": done[0]["versions"] if done else {},
                    "cases": sorted(keep.values(), key=lambda r: r["id"]),
                },
                indent=1,
            )
            + "\n"
        )
        return
    for r in json.loads(RESULTS.read_text())["cases"]:
        est = analytic(r["case"])
        err = (est - r["peak_allocated_bytes"]) / r["peak_allocated_bytes"]
        print(f"{err:+7.2%}  {r['id']}  ({r['peak_phase']})")


if __name__ == "__main__":
    main()
