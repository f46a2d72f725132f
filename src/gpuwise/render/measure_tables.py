"""Tables for the measuring commands (``probe --measure``, ``bench``), read from their JSON
documents, so a number on screen is the number in ``--json``."""

from __future__ import annotations

from typing import Any

from rich.table import Table

from gpuwise.render.console import console
from gpuwise.units import gib, num

__all__ = ["bench_table", "console", "measure_table"]


def _pct(value: float | None) -> str:
    return "—" if value is None else f"{100 * value:+.1f} %"


def _bytes(value: int | None) -> str:
    return "—" if value is None else gib(value)


def measure_table(doc: dict[str, Any]) -> Table:
    m, plan, err = doc["measured"], doc["plan"], doc["errors"]
    versions = ", ".join(f"{k} {v}" for k, v in doc["measured_on"].items())
    lines = [
        f"Measured on {m['device_name']} ({versions}; attention: {doc['attn_implementation']}), "
        f"{m['warmup_steps']} warm-up + {len(m['step_s_all'])} timed steps, {doc['seconds']} s.",
        "Error = (plan - measured) / measured.",
    ]
    if m["oom"]:
        lines.insert(0, f"OUT OF MEMORY during the {m['oom_during']}: {m['oom_message']}")
    if doc["verdict"]["message"]:
        lines.append(doc["verdict"]["message"])
    lines.extend(doc["notes"])
    table = Table(
        title=f"{doc['model']['name']}: measured vs planned",
        caption="\n".join(lines),
        caption_justify="left",
    )
    table.add_column("")
    table.add_column("Measured", justify="right", no_wrap=True)
    table.add_column("Plan", justify="right", no_wrap=True)
    table.add_column("Error", justify="right", no_wrap=True)
    mem = plan["memory"]
    table.add_row(
        "peak allocated",
        _bytes(m["peak_allocated_bytes"]),
        gib(mem["peak_allocated_bytes"]),
        _pct(err["peak_error"]),
    )
    table.add_row("peak reserved", _bytes(m["peak_reserved_bytes"]), "", "")
    table.add_row("CUDA context", _bytes(m["context_bytes"]), "", "")
    table.add_row(
        "reserved + context / required",
        _bytes(m["reserved_plus_context_bytes"]),
        gib(mem["required_bytes"]),
        _pct(err["required_error"]),
    )
    table.add_row("driver-reported use", _bytes(m["driver_used_bytes"]), "", "")
    table.add_row("step time (median)", _seconds(m["step_s"]), "", "")
    table.add_row(
        "tokens/s",
        num(m["tokens_per_s"], 0),
        num(plan["tokens_per_s"], 0),
        _pct(err["tokens_per_s_error"]),
    )
    return table


def _seconds(value: float | None) -> str:
    return "—" if value is None else f"{value:.4f} s"


def bench_table(doc: dict[str, Any]) -> Table:
    card = doc["card"]
    where = doc["device_name"] + (
        f" (catalogue: {card['name']})" if card else " (no catalogue card: no % of peak)"
    )
    notes = [f"{doc['device']}: {where}; {doc['seconds']} s.", *doc["notes"]]
    table = Table(title="gpuwise bench", caption="\n".join(notes), caption_justify="left")
    table.add_column("What")
    table.add_column("Measured", justify="right", no_wrap=True)
    table.add_column("Spec", justify="right", no_wrap=True)
    table.add_column("% of spec", justify="right", no_wrap=True)
    for r in doc["matmul"]:
        label = f"matmul {r['dtype']} ({r['size']}³)"
        if r["skipped"]:
            table.add_row(label, r["skipped"], "", "")
            continue
        table.add_row(label, _rate(r["tflops"]), _spec(r["spec_tflops"], "TFLOPS"), _frac(r))
    for r in doc["bandwidth"]:
        table.add_row(
            f"{r['kind']} ({gib(r['bytes'])})",
            f"{r['gb_s']:.1f} GB/s",
            _spec(r["spec_gb_s"], "GB/s"),
            _frac(r),
        )
    t = doc["train_step"]
    if t is not None:
        table.add_row(
            f"train step {t['model']} b{t['batch']} x {t['seq']} {t['precision']}",
            f"{num(t['tokens_per_s'], 0)} tok/s",
            "",
            "",
        )
        table.add_row("  MFU (model FLOPs / spec)", "", "", _pct_plain(t["mfu"]))
    return table


def _rate(tflops: float) -> str:
    return f"{tflops:.2f} TFLOPS" if tflops >= 1 else f"{1000 * tflops:.1f} GFLOPS"


def _spec(value: float | None, unit: str) -> str:
    return "—" if value is None else f"{value:g} {unit}"


def _frac(row: dict[str, Any]) -> str:
    return _pct_plain(row.get("fraction_of_spec"))


def _pct_plain(value: float | None) -> str:
    return "—" if value is None else f"{100 * value:.1f} %"
