"""Measure on a real GPU what gpuwise plans: bench, ``probe --measure`` over a grid, and mnist.

Writes one JSON (``$OUT/gpu_verify.json`` when $OUT is set, else ``gpu_verify.json``, or
``--out``) with the versions (torch, transformers, peft, bitsandbytes, driver), the bench, and
for every case the plan's figures beside the measured ones; the file is rewritten after every
case, so a run cut short still leaves what it measured. Prints a summary table at the end.

Targets (issue 6): the plan's peak allocated within 10 % of ``max_memory_allocated``, and
``required_bytes`` never short of measured reserved + CUDA context by more than 3 %.

The grid: llama, qwen2, gemma3_text, gemma2, gpt2 and bert presets x full / lora / qlora x bf16 /
amp-bf16 x checkpointing on / off, each sized to the card: batch and seq are picked so that the
plan's ``required_bytes`` fills about 60 % of the card (30-90 %) with a planned step of at most
``--max-step-s``; plus one case the plan says does not fit, to check that the out-of-memory is
caught and agrees with the plan. Every case runs in its own process (a clean allocator and CUDA
context) under a time limit; cases left when ``--budget-s`` is spent are recorded as skipped.

Usage (on a CUDA machine, about 6-8 minutes on an H200; no install needed, it imports gpuwise
from src/; qlora cases need bitsandbytes and say so when it is missing):
    python scripts/gpu_verify.py                      # everything
    python scripts/gpu_verify.py --dry-run            # list the grid, sized for --card
    python scripts/gpu_verify.py --dry-run --device cpu   # and run 2 tiny cases on the CPU (CI)
"""

from __future__ import annotations

import argparse
import json
import os
import shlex
import subprocess
import sys
import time
from importlib import metadata
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
# runs from a checkout without installing gpuwise (the lent GPU machine has no package index):
# this process and every child import gpuwise from src/
sys.path.insert(0, str(ROOT / "src"))
os.environ["PYTHONPATH"] = os.pathsep.join(
    p for p in (str(ROOT / "src"), os.environ.get("PYTHONPATH", "")) if p
)
# the bench this script runs must not calibrate the plans it compares with: keep it apart
os.environ.setdefault("GPUWISE_BENCH_DIR", str(Path(os.environ.get("OUT", ".")) / "bench-cache"))
GPUWISE = [sys.executable, "-m", "gpuwise"]
PEAK_TARGET = 0.10
REQUIRED_TARGET = -0.03

#: (model, workload flags) in priority order: what runs first when time is short.
GRID: list[tuple[str, dict[str, Any]]] = [
    ("llama-3.2-1b", {"method": "full", "precision": "bf16"}),
    ("llama-3.2-1b", {"method": "lora", "precision": "bf16"}),
    ("llama-3.2-1b", {"method": "qlora", "precision": "bf16"}),
    ("llama-3.2-1b", {"method": "full", "precision": "amp-bf16", "grad_checkpointing": True}),
    ("qwen2.5-0.5b", {"method": "full", "precision": "bf16"}),
    ("gemma-2-9b", {"method": "full", "precision": "bf16", "oom_case": True}),
    ("gemma-3-1b", {"method": "full", "precision": "bf16"}),
    ("gpt2", {"method": "full", "precision": "amp-bf16"}),
    ("bert-base-uncased", {"method": "full", "precision": "amp-bf16"}),
    ("qwen2.5-0.5b", {"method": "lora", "precision": "amp-bf16", "grad_checkpointing": True}),
    ("llama-3.1-8b", {"method": "qlora", "precision": "bf16", "grad_checkpointing": True}),
    ("gemma-3-1b", {"method": "lora", "precision": "bf16", "grad_checkpointing": True}),
    ("gpt2", {"method": "full", "precision": "bf16", "grad_checkpointing": True}),
    ("bert-base-uncased", {"method": "lora", "precision": "bf16"}),
    ("qwen2.5-7b", {"method": "lora", "precision": "bf16", "grad_checkpointing": True}),
    ("gemma-2-9b", {"method": "lora", "precision": "bf16", "grad_checkpointing": True}),
    ("llama-3.2-1b", {"task": "infer", "precision": "bf16"}),
]

#: The two tiny cases ``--dry-run --device cpu`` runs (configs in tests/accuracy/configs).
CPU_CASES: list[tuple[str, dict[str, Any]]] = [
    ("tests/accuracy/configs/tiny-llama.json", {"method": "full", "precision": "bf16"}),
    ("tests/accuracy/configs/tiny-gpt2.json", {"method": "lora", "precision": "amp-bf16"}),
]


def main(argv: list[str] | None = None) -> int:
    args = parse(argv)
    out_path = Path(args.out)
    started = time.monotonic()
    device = gpu_info() if args.device == "cuda" and not args.dry_run else None
    if args.device == "cuda" and not args.dry_run and device is None:
        print("gpu_verify: no CUDA device visible to torch; use --dry-run", file=sys.stderr)
        return 2
    total = device["total_memory_bytes"] if device else usable_bytes(args.card)
    card_name = device["name"] if device else args.card
    report: dict[str, Any] = {
        "kind": "gpuwise-gpu-verify",
        "started": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
        "device": device,
        "sized_for": {"card": card_name, "total_memory_bytes": total},
        "versions": versions(),
        "targets": {"peak_error_abs": PEAK_TARGET, "required_error_min": REQUIRED_TARGET},
        "bench": None,
        "cases": [],
        "mnist": None,
        "mnist_speed": None,
    }
    if args.dry_run:
        cases = [sized(m, f, total, card_name, args.max_step_s) for m, f in GRID]
        for c in cases:
            fill = f"{100 * c['planned_fill']:.0f} %" if "planned_fill" in c else ""
            print(f"{c['id']:<44} {fill:>6}  {c.get('skip') or shlex.join(c['argv'])}")
        report["cases"] = cases
        if args.device == "cpu":
            report["cases"] = [
                run_case(cpu_case(m, f), 120, "cpu", steps=2, warmup=1) for m, f in CPU_CASES
            ]
            print_summary(report["cases"])
        write(out_path, report)
        print(f"wrote {out_path}", file=sys.stderr)
        return 0

    def left() -> float:
        return args.budget_s - (time.monotonic() - started)

    if not args.skip_bench:
        report["bench"] = run_json([*GPUWISE, "bench", "--json", "--no-save"], min(150, left()))
        write(out_path, report)
    for model, flags in GRID:
        case = sized(model, flags, total, card_name, args.max_step_s)
        if not case.get("skip") and left() < 20:
            case["skip"] = f"over the time budget ({args.budget_s:.0f} s)"
        if not case.get("skip"):
            case = run_case(case, min(args.case_timeout_s, left()), "cuda", args.steps, 2)
        report["cases"].append(case)
        write(out_path, report)
        print(f"{case['id']}: {case_line(case)}", file=sys.stderr)
    if not args.skip_mnist:
        report["mnist"] = run_mnist(min(120, max(left(), 30)), args.mnist_args)
        write(out_path, report)
        # issue 6's speed check on the GPU: the fast loop against the DataLoader loop, batch 32,
        # on MNIST-shaped synthetic data
        report["mnist_speed"] = run_mnist_speed(min(120, max(left(), 30)), out_path.parent)
    report["seconds"] = round(time.monotonic() - started, 1)
    report["summary"] = summary(report["cases"])
    write(out_path, report)
    print_summary(report["cases"])
    print(f"wrote {out_path}", file=sys.stderr)
    return 0


def parse(argv: list[str] | None) -> argparse.Namespace:
    default_out = Path(os.environ["OUT"]) / "gpu_verify.json" if os.environ.get("OUT") else None
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--out", default=str(default_out or "gpu_verify.json"))
    p.add_argument("--dry-run", action="store_true", help="list the grid; run nothing on a GPU")
    p.add_argument("--device", choices=("cuda", "cpu"), default="cuda")
    p.add_argument("--card", default="h200", help="card to size the grid for in --dry-run")
    p.add_argument("--budget-s", type=float, default=420, help="stop starting cases after this")
    p.add_argument("--case-timeout-s", type=float, default=75)
    p.add_argument("--max-step-s", type=float, default=1.5, help="largest planned step time")
    p.add_argument("--steps", type=int, default=3, help="timed steps per case (after 2 warm-up)")
    p.add_argument("--skip-bench", action="store_true")
    p.add_argument("--skip-mnist", action="store_true")
    p.add_argument("--mnist-args", default="", help="extra flags for `gpuwise mnist`")
    return p.parse_args(argv)


# -- the grid ------------------------------------------------------------------------------


def case_id(model: str, flags: dict[str, Any]) -> str:
    name = Path(model).stem if model.endswith(".json") else model
    parts = [name, flags.get("task", "train")]
    if flags.get("task", "train") == "train":
        parts.append(flags["method"])
    parts.append(flags["precision"])
    if flags.get("grad_checkpointing"):
        parts.append("ckpt")
    if flags.get("oom_case"):
        parts.append("oom-check")
    return "/".join(parts)


def workload_argv(flags: dict[str, Any], batch: int, seq: int) -> list[str]:
    argv = ["--task", flags.get("task", "train"), "--precision", flags["precision"]]
    if flags.get("task", "train") == "train":
        argv += ["--method", flags["method"]]
    if flags.get("grad_checkpointing"):
        argv.append("--grad-checkpointing")
    return [*argv, "--batch", str(batch), "--seq", str(seq)]


def _plan(model: str, flags: dict[str, Any], batch: int, seq: int, card: Any) -> dict[str, Any]:
    """The plan's memory and time for one size (in-process: gpuwise plan is torch-free)."""
    from gpuwise.models import load_model
    from gpuwise.plan import card_time, estimate_memory
    from gpuwise.workload import Workload, validate

    spec = load_model(model)
    w = validate(
        Workload(
            task=flags.get("task", "train"),
            method=flags.get("method", "full"),
            precision=flags["precision"],
            batch=batch,
            seq=seq,
            grad_checkpointing=bool(flags.get("grad_checkpointing")),
        ),
        spec,
    )
    mem = estimate_memory(spec, w)
    step_s = None
    if card is not None:
        t = card_time(spec, w, card, memory=mem)
        if w.task == "train":
            step_s = t.step_s
        else:  # inference: the prefill of batch x seq tokens is the step a case runs
            prefill = getattr(t, "prefill_tokens_per_s", None)
            step_s = w.batch * w.seq / prefill if prefill else None
    return {
        "peak_allocated_bytes": mem.peak_allocated_bytes,
        "required_bytes": mem.required_bytes,
        "step_s": step_s,
        "max_position_embeddings": spec.max_position_embeddings,
    }


def _card(name: str) -> Any:
    from gpuwise.catalog import load_catalog
    from gpuwise.errors import GpuwiseError

    try:
        return load_catalog().find(name)
    except GpuwiseError:
        return None


def usable_bytes(card_name: str) -> int:
    from gpuwise.catalog import usable_memory

    card = _card(card_name)
    if card is None:
        raise SystemExit(f"gpu_verify: unknown card {card_name!r}")
    return usable_memory(card).bytes


def sized(
    model: str, flags: dict[str, Any], total: int, card_name: str, max_step_s: float
) -> dict[str, Any]:
    """The case with batch and seq chosen so the plan fills ~60 % of ``total`` (30-90 %) with a
    planned step under ``max_step_s``; the OOM case is sized to need 105-150 % of the card."""
    card = _card(card_name)
    cid = case_id(model, flags)
    max_pos = _plan(model, flags, 1, 128, card)["max_position_embeddings"] or 2048
    seqs = [s for s in (512, 1024, 2048, 4096) if s <= max_pos] or [max_pos]
    best: tuple[float, int, int, dict[str, Any]] | None = None
    for seq in seqs:
        for batch in (1, 2, 4, 8, 16, 32, 64, 128, 256):
            p = _plan(model, flags, batch, seq, card)
            fill = p["required_bytes"] / total
            slow = p["step_s"] is not None and p["step_s"] > max_step_s
            if flags.get("oom_case"):
                ok = 1.05 <= fill <= 1.5
                score = abs(fill - 1.2)
            else:
                ok = fill <= 0.9 and not slow
                score = abs(fill - 0.6)
            if ok and (best is None or score < best[0]):
                best = (score, batch, seq, p)
    if best is None:
        return {"id": cid, "model": model, "flags": flags, "skip": "no size fits the targets"}
    _, batch, seq, p = best
    return {
        "id": cid,
        "model": model,
        "flags": flags,
        "batch": batch,
        "seq": seq,
        "planned_fill": p["required_bytes"] / total,
        "planned_step_s": p["step_s"],
        "argv": [model, *workload_argv(flags, batch, seq)],
    }


def cpu_case(model: str, flags: dict[str, Any]) -> dict[str, Any]:
    return {
        "id": case_id(model, flags),
        "model": model,
        "flags": flags,
        "batch": 1,
        "seq": 32,
        "argv": [model, *workload_argv(flags, 1, 32)],
    }


# -- running -------------------------------------------------------------------------------


def run_json(argv: list[str], timeout: float) -> dict[str, Any]:
    """Run a gpuwise command that prints one JSON document; its document or what went wrong."""
    t0 = time.monotonic()
    try:
        r = subprocess.run(
            argv, capture_output=True, text=True, timeout=max(timeout, 1), cwd=ROOT, check=False
        )
    except subprocess.TimeoutExpired:
        return {"error": f"timed out after {timeout:.0f} s", "wall_s": round(timeout, 1)}
    wall = round(time.monotonic() - t0, 1)
    if r.returncode != 0:
        return {"error": r.stderr.strip()[-1500:], "exit_code": r.returncode, "wall_s": wall}
    try:
        doc: dict[str, Any] = json.loads(r.stdout)
    except ValueError:
        return {"error": "not JSON: " + r.stdout[-500:], "wall_s": wall}
    doc["wall_s"] = wall
    return doc


def run_case(
    case: dict[str, Any], timeout: float, device: str, steps: int, warmup: int
) -> dict[str, Any]:
    argv = [*GPUWISE, "probe", *case["argv"], "--measure", "--json", "--device", device]
    argv += ["--steps", str(steps), "--warmup", str(warmup)]
    doc = run_json(argv, timeout)
    case = {**case, "command": shlex.join(["gpuwise", *argv[3:]])}
    if "error" in doc:
        return {**case, "error": doc["error"], "wall_s": doc.get("wall_s")}
    m, plan, err = doc["measured"], doc["plan"], doc["errors"]
    return {
        **case,
        "wall_s": doc["wall_s"],
        "oom": m["oom"],
        "verdict": doc["verdict"],
        "plan_peak_allocated_bytes": plan["memory"]["peak_allocated_bytes"],
        "plan_required_bytes": plan["memory"]["required_bytes"],
        "measured_peak_allocated_bytes": m["peak_allocated_bytes"],
        "measured_peak_reserved_bytes": m["peak_reserved_bytes"],
        "measured_context_bytes": m["context_bytes"],
        "measured_driver_used_bytes": m["driver_used_bytes"],
        "peak_error": err["peak_error"],
        "required_error": err["required_error"],
        "plan_tokens_per_s": plan["tokens_per_s"],
        "measured_tokens_per_s": m["tokens_per_s"],
        "tokens_per_s_error": err["tokens_per_s_error"],
        "measured_on": doc["measured_on"],
        "document": doc,
    }


def run_mnist(timeout: float, extra: str) -> dict[str, Any]:
    """``gpuwise mnist --json`` when the command exists (offline: the bundled digits data set
    unless --mnist-args says otherwise); a note when it does not."""
    probe = subprocess.run(
        [*GPUWISE, "mnist", "--help"], capture_output=True, text=True, cwd=ROOT, check=False
    )
    if probe.returncode != 0:
        return {"skipped": "`gpuwise mnist` does not exist in this checkout"}
    argv = [*GPUWISE, "mnist", *shlex.split(extra)]
    if "--json" in probe.stdout:
        argv.append("--json")
    if not extra and "--dataset" in probe.stdout and not os.environ.get("GPUWISE_MNIST_DIR"):
        argv += ["--dataset", "digits"]
    result = run_json(argv, timeout)
    result["command"] = shlex.join(["gpuwise", *argv[3:]])
    return result


def run_mnist_speed(timeout: float, folder: Path) -> dict[str, Any]:
    """scripts/bench_mnist.py on the GPU: per-epoch times of the fast and plain loops."""
    target = folder / "mnist_speed.json"
    argv = [sys.executable, str(ROOT / "scripts" / "bench_mnist.py"), "--device", "cuda"]
    argv += ["--epochs", "2", "--json", str(target)]
    try:
        r = subprocess.run(argv, capture_output=True, text=True, timeout=timeout, cwd=ROOT)
    except subprocess.TimeoutExpired:
        return {"error": f"timed out after {timeout:.0f} s"}
    if r.returncode != 0 or not target.exists():
        return {"error": (r.stderr or r.stdout).strip().splitlines()[-1:] or ["failed"]}
    result: dict[str, Any] = json.loads(target.read_text())
    return result


# -- environment ---------------------------------------------------------------------------


def gpu_info() -> dict[str, Any] | None:
    """The device, read in a child process so this one never holds a CUDA context."""
    code = (
        "import json, torch\n"
        "if not torch.cuda.is_available(): print('null')\n"
        "else:\n"
        "  p = torch.cuda.get_device_properties(0)\n"
        "  print(json.dumps({'name': torch.cuda.get_device_name(0), 'total_memory_bytes': "
        "p.total_memory, 'compute_capability': f'{p.major}.{p.minor}'}))\n"
    )
    r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=False)
    if r.returncode != 0:
        return None
    info: dict[str, Any] | None = json.loads(r.stdout.strip() or "null")
    if info is not None:
        info["driver"] = driver_version()
    return info


def driver_version() -> str | None:
    try:
        r = subprocess.run(
            ["nvidia-smi", "--query-gpu=driver_version", "--format=csv,noheader"],
            capture_output=True,
            text=True,
            timeout=20,
            check=False,
        )
    except (OSError, subprocess.TimeoutExpired):
        return None
    return r.stdout.strip().splitlines()[0] if r.returncode == 0 and r.stdout.strip() else None


def versions() -> dict[str, str | None]:
    out: dict[str, str | None] = {"python": sys.version.split()[0]}
    for dist in ("gpuwise", "torch", "transformers", "peft", "accelerate", "bitsandbytes"):
        try:
            out[dist] = metadata.version(dist)
        except metadata.PackageNotFoundError:
            out[dist] = None
    out["nvidia-ml-py"] = _maybe_version("nvidia-ml-py")
    out["driver"] = driver_version()
    return out


def _maybe_version(dist: str) -> str | None:
    try:
        return metadata.version(dist)
    except metadata.PackageNotFoundError:
        return None


def write(path: Path, report: dict[str, Any]) -> None:
    """Atomically: a reader (or a run cut short) never sees half a file."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.tmp")
    tmp.write_text(json.dumps(report, indent=1, default=str) + "\n")
    os.replace(tmp, path)


# -- summary -------------------------------------------------------------------------------


def passes(case: dict[str, Any]) -> dict[str, bool | None]:
    """Whether a measured case meets each target (None where it has no figure)."""
    peak, req = case.get("peak_error"), case.get("required_error")
    return {
        "peak_within_10pct": None if peak is None or case.get("oom") else abs(peak) <= PEAK_TARGET,
        "required_not_short_3pct": None
        if req is None or case.get("oom")
        else req >= REQUIRED_TARGET,
    }


def summary(cases: list[dict[str, Any]]) -> dict[str, Any]:
    measured = [c for c in cases if "peak_error" in c]
    checks = [passes(c) for c in measured]
    return {
        "cases": len(cases),
        "measured": len(measured),
        "skipped": sum(1 for c in cases if c.get("skip")),
        "errors": sum(1 for c in cases if c.get("error")),
        "oom": sum(1 for c in measured if c.get("oom")),
        "oom_agrees_with_plan": [
            c["id"] for c in measured if c.get("oom") and c["verdict"]["agrees"]
        ],
        "peak_within_10pct": sum(1 for k in checks if k["peak_within_10pct"]),
        "required_not_short_3pct": sum(1 for k in checks if k["required_not_short_3pct"]),
        "with_peak_figure": sum(1 for k in checks if k["peak_within_10pct"] is not None),
        "with_required_figure": sum(1 for k in checks if k["required_not_short_3pct"] is not None),
    }


def _gib(n: int | None) -> str:
    return "—" if n is None else f"{n / 2**30:.2f}"


def _pct(x: float | None) -> str:
    return "—" if x is None else f"{100 * x:+.1f}%"


def case_line(case: dict[str, Any]) -> str:
    if case.get("skip"):
        return f"skipped ({case['skip']})"
    if case.get("error"):
        return "error: " + case["error"].splitlines()[-1][:160]
    if case.get("oom"):
        return f"out of memory; {case['verdict'].get('message')}"
    return (
        f"peak {_gib(case['measured_peak_allocated_bytes'])} GiB (plan {_pct(case['peak_error'])}),"
        f" reserved+ctx vs required {_pct(case['required_error'])}, "
        f"tok/s {case['measured_tokens_per_s'] or 0:,.0f} (plan {_pct(case['tokens_per_s_error'])})"
    )


def print_summary(cases: list[dict[str, Any]]) -> None:
    head = (
        f"{'case':<46} {'b x seq':>10} {'plan GiB':>9} {'alloc GiB':>9} {'err':>7} "
        f"{'req GiB':>8} {'res+ctx':>8} {'err':>7} {'tok/s err':>9}"
    )
    print(head)
    for c in cases:
        if "peak_error" not in c:
            print(f"{c['id']:<46} {case_line(c)}")
            continue
        res_ctx = None
        if (
            c["measured_peak_reserved_bytes"] is not None
            and c["measured_context_bytes"] is not None
        ):
            res_ctx = c["measured_peak_reserved_bytes"] + c["measured_context_bytes"]
        size = f"{c['batch']}x{c['seq']}"
        print(
            f"{c['id']:<46} {size:>10} {_gib(c['plan_peak_allocated_bytes']):>9} "
            f"{_gib(c['measured_peak_allocated_bytes']):>9} {_pct(c['peak_error']):>7} "
            f"{_gib(c['plan_required_bytes']):>8} {_gib(res_ctx):>8} "
            f"{_pct(c['required_error']):>7} {_pct(c['tokens_per_s_error']):>9}"
            + ("  OOM" if c.get("oom") else "")
        )
    s = summary(cases)
    print(
        f"peak within 10 %: {s['peak_within_10pct']}/{s['with_peak_figure']}; required not short "
        f"by > 3 %: {s['required_not_short_3pct']}/{s['with_required_figure']}; OOM {s['oom']}; "
        f"skipped {s['skipped']}; errors {s['errors']}"
    )


if __name__ == "__main__":
    sys.exit(main())
