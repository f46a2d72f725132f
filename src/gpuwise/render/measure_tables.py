"""Tables for the checking and measuring commands (``probe --simulate``, ``probe --measure``,
``bench``), read from their JSON documents, so a number on screen is the number in ``--json``;
every word is the catalogue's (:func:`gpuwise.i18n.t`), in the language in use."""

from __future__ import annotations

from typing import Any

from rich.table import Table

from gpuwise.i18n import t
from gpuwise.render.console import console
from gpuwise.render.table_kit import add_columns
from gpuwise.units import gib, num

__all__ = ["bench_table", "console", "measure_table", "probe_table"]

#: The memory kinds of a breakdown that are words, said in the user's language.
_KINDS = {
    "weights": "measure.kind.weights",
    "gradients": "measure.kind.gradients",
    "optimizer": "measure.kind.optimizer",
    "activations": "measure.kind.activations",
    "kv_cache": "measure.kind.kv_cache",
    "temporaries": "measure.kind.temporaries",
    "overhead": "measure.kind.overhead",
}
#: What a bench's bandwidth rows measured.
_COPIES = {
    "device copy": "bench.copy.device",
    "host to device": "bench.copy.host_to_device",
    "device to host": "bench.copy.device_to_host",
}


def _said(value: str, keys: dict[str, str]) -> str:
    key = keys.get(value)
    return t(key) if key else value


def _pct(value: float | None) -> str:
    return "—" if value is None else f"{100 * value:+.1f} %"


def _bytes(value: int | None) -> str:
    return "—" if value is None else gib(value)


def _table(title: str, caption: str, headers: list[str], rows: list[tuple[Any, ...]]) -> Table:
    """A table whose first column is words and the others figures (widths in cells)."""
    table = Table(title=title, caption=caption, caption_justify="left")
    add_columns(table, headers, rows, text=(0,))
    for row in rows:
        table.add_row(*row)
    return table


def probe_table(doc: dict[str, Any]) -> Table:
    """``probe --simulate``: the simulated memory beside the plan's, kind by kind."""
    sim, ana = doc["memory"], doc["analytic"]
    versions = ", ".join(f"{k} {v}" for k, v in doc["simulated_on"].items())
    rows: list[tuple[Any, ...]] = [
        (_said(kind, _KINDS), gib(sim["breakdown"][kind]), gib(ana["breakdown"].get(kind, 0)))
        for kind in sim["breakdown"]
        if kind != "overhead" and (sim["breakdown"][kind] or ana["breakdown"].get(kind))
    ]
    rows.append(
        (
            t("measure.row.peak_allocated"),
            gib(sim["peak_allocated_bytes"]),
            gib(ana["peak_allocated_bytes"]),
        )
    )
    rows.append((t("measure.row.required"), gib(sim["required_bytes"]), gib(ana["required_bytes"])))
    return _table(
        t("probe.table.title", model=doc["model"]["name"]),
        t(
            "probe.table.caption",
            seconds=doc["seconds"],
            versions=versions,
            attention=doc["attn_implementation"],
            simulated=_said(sim["peak_phase"], _PHASES),
            planned=_said(ana["peak_phase"], _PHASES),
            error=f"{100 * doc['error']:+.2f}",
        ),
        [t("measure.col.memory"), t("probe.col.simulated"), t("measure.col.plan")],
        rows,
    )


#: The phases of a step a peak (or an out-of-memory) falls in.
_PHASES = {
    "setup": "measure.phase.setup",
    "build": "measure.phase.build",
    "forward": "measure.phase.forward",
    "backward": "measure.phase.backward",
    "backward_end": "measure.phase.backward_end",
    "backward_layers": "measure.phase.backward_layers",
    "optimizer": "measure.phase.optimizer",
    "zero_grad": "measure.phase.zero_grad",
    "prefill": "measure.phase.prefill",
    "warm-up step": "measure.phase.warmup",
    "timed step": "measure.phase.timed",
}


def measure_table(doc: dict[str, Any]) -> Table:
    """``probe --measure``: the measured step beside the plan."""
    m, plan, err = doc["measured"], doc["plan"], doc["errors"]
    versions = ", ".join(f"{k} {v}" for k, v in doc["measured_on"].items())
    lines = [
        t(
            "measure.caption.measured_on",
            device=m["device_name"],
            versions=versions,
            attention=doc["attn_implementation"],
            warmup=m["warmup_steps"],
            steps=len(m["step_s_all"]),
            seconds=doc["seconds"],
        ),
        t("measure.caption.error"),
    ]
    if m["oom"]:
        during = _said(m["oom_during"], _PHASES)
        lines.insert(0, t("measure.caption.oom", during=during, said=m["oom_message"]))
    if doc["verdict"]["message"]:
        lines.append(doc["verdict"]["message"])
    lines.extend(str(n) for n in doc["notes"])
    mem = plan["memory"]
    rows: list[tuple[Any, ...]] = [
        (
            t("measure.row.peak_allocated"),
            _bytes(m["peak_allocated_bytes"]),
            gib(mem["peak_allocated_bytes"]),
            _pct(err["peak_error"]),
        ),
        (t("measure.row.peak_reserved"), _bytes(m["peak_reserved_bytes"]), "", ""),
        (t("measure.row.context"), _bytes(m["context_bytes"]), "", ""),
        (
            t("measure.row.reserved_context"),
            _bytes(m["reserved_plus_context_bytes"]),
            gib(mem["required_bytes"]),
            _pct(err["required_error"]),
        ),
        (t("measure.row.driver_used"), _bytes(m["driver_used_bytes"]), "", ""),
        (t("measure.row.step_time"), _seconds(m["step_s"]), "", ""),
        (
            "tokens/s",
            num(m["tokens_per_s"], 0),
            num(plan["tokens_per_s"], 0),
            _pct(err["tokens_per_s_error"]),
        ),
    ]
    headers = ["", t("measure.col.measured"), t("measure.col.plan"), t("measure.col.error")]
    return _table(
        t("measure.table.title", model=doc["model"]["name"]), "\n".join(lines), headers, rows
    )


def _seconds(value: float | None) -> str:
    return "—" if value is None else f"{value:.4f} s"


def bench_table(doc: dict[str, Any]) -> Table:
    """``bench``: each measured rate beside the catalogue's figure for the card."""
    card = doc["card"]
    where = (
        t("bench.where.card", device=doc["device_name"], card=card["name"])
        if card
        else t("bench.where.no_card", device=doc["device_name"])
    )
    notes = [
        t("bench.caption", device=doc["device"], where=where, seconds=doc["seconds"]),
        *(str(n) for n in doc["notes"]),
    ]
    rows: list[tuple[Any, ...]] = []
    for r in doc["matmul"]:
        label = t("bench.row.matmul", dtype=r["dtype"], size=r["size"])
        if r["skipped"]:
            rows.append((label, str(r["skipped"]), "", ""))
            continue
        rows.append((label, _rate(r["tflops"]), _spec(r["spec_tflops"], "TFLOPS"), _frac(r)))
    for r in doc["bandwidth"]:
        rows.append(
            (
                t("bench.row.copy", kind=_said(r["kind"], _COPIES), size=gib(r["bytes"])),
                f"{r['gb_s']:.1f} GB/s",
                _spec(r["spec_gb_s"], "GB/s"),
                _frac(r),
            )
        )
    step = doc["train_step"]
    if step is not None:
        rows.append(
            (
                t(
                    "bench.row.train",
                    model=step["model"],
                    batch=step["batch"],
                    seq=step["seq"],
                    precision=step["precision"],
                ),
                f"{num(step['tokens_per_s'], 0)} tok/s",
                "",
                "",
            )
        )
        rows.append((t("bench.row.mfu"), "", "", _pct_plain(step["mfu"])))
    headers = [
        t("bench.col.what"),
        t("measure.col.measured"),
        t("bench.col.spec"),
        t("bench.col.fraction"),
    ]
    return _table("gpuwise bench", "\n".join(notes), headers, rows)


def _rate(tflops: float) -> str:
    return f"{tflops:.2f} TFLOPS" if tflops >= 1 else f"{1000 * tflops:.1f} GFLOPS"


def _spec(value: float | None, unit: str) -> str:
    return "—" if value is None else f"{value:g} {unit}"


def _frac(row: dict[str, Any]) -> str:
    return _pct_plain(row.get("fraction_of_spec"))


def _pct_plain(value: float | None) -> str:
    return "—" if value is None else f"{100 * value:.1f} %"
