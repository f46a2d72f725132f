"""JSON documents -> rich tables for people. Tables read the same documents ``--json`` prints,
so a number on screen is always the number in the JSON.

Importing this module is cheap (rich is imported when a table is made), so a command can name
its table function before it knows whether ``--json`` was asked for. Print the tables through
:func:`gpuwise.render.console.console`, which shows every string as text (no markup, unsafe
characters escaped); colour and weight come from :func:`_styled`, never from markup.
"""

from __future__ import annotations

from gpuwise.render.table_kit import styled as _styled
from gpuwise.render.table_kit import table as _table
from gpuwise.units import count, gib

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

    from rich.table import Table
    from rich.text import Text


def probe_table(doc: dict[str, Any]) -> Table:
    sim, ana = doc["memory"], doc["analytic"]
    versions = ", ".join(f"{k} {v}" for k, v in doc["simulated_on"].items())
    table = _table(
        title=f"{doc['model']['name']}: simulated vs planned",
        caption=f"Simulated in {doc['seconds']} s on fake tensors ({versions}; attention: "
        f"{doc['attn_implementation']}). Peak during: {sim['peak_phase']} (simulated), "
        f"{ana['peak_phase']} (plan). Plan error: {100 * doc['error']:+.2f} %.",
        caption_justify="left",
    )
    table.add_column("Memory")
    table.add_column("Simulated", justify="right", no_wrap=True)
    table.add_column("Plan", justify="right", no_wrap=True)
    for kind in sim["breakdown"]:
        if kind != "overhead" and (sim["breakdown"][kind] or ana["breakdown"].get(kind)):
            table.add_row(kind, gib(sim["breakdown"][kind]), gib(ana["breakdown"].get(kind, 0)))
    table.add_row(
        "peak allocated", gib(sim["peak_allocated_bytes"]), gib(ana["peak_allocated_bytes"])
    )
    table.add_row("required", gib(sim["required_bytes"]), gib(ana["required_bytes"]))
    return table


_SEVERITY = {"error": ("error", "red"), "warning": ("warn", "yellow"), "info": ("info", "")}


def _severity(severity: str) -> Text:
    label, style = _SEVERITY.get(severity, (severity, ""))
    return _styled(label, style)


def doctor_tables(doc: dict[str, Any]) -> list[Any]:
    """``gpuwise doctor``: the machine (a block to paste into bug reports), then each card's
    problems, advice and install command; a plain statement when no NVIDIA GPU was found."""
    from gpuwise.render.doctor_text import card_lines

    s = doc["system"]
    torch = s["torch"]
    machine = _table(
        title=f"gpuwise doctor ({doc['mode']}; knowledge of {doc['kb_date']})",
        caption="Paste this table into bug reports. --json for the full document.",
        show_header=False,
    )
    machine.add_column("What")
    machine.add_column("Found", overflow="fold")
    rows = [
        ("OS", s["os_detail"] if doc["mode"] == "detected" else s["os"]),
        ("Python", s["python"]),
        ("NVIDIA driver", s["driver"] or "not found"),
        ("GPUs found by", s["gpu_source"] or "nothing"),
        ("CUDA toolkit (nvcc)", s["nvcc"] or "—"),
    ]
    if torch is None:
        rows.append(("torch", "not installed" if doc["mode"] == "detected" else "not given"))
    else:
        rows.append(("torch", f"{torch['version']} (CUDA {torch['cuda'] or 'none'})"))
        if torch["arch_list"]:
            how = "compiled in" if torch["arch_list_detected"] else "from gpuwise's table"
            rows.append(("torch arch list", f"{' '.join(torch['arch_list'])} ({how})"))
    for lib, version in s["libraries"].items():
        rows.append((lib, version or "not installed"))
    for what, found in rows:
        machine.add_row(what, found)
    out: list[Any] = [machine]
    for p in doc["problems"]:
        if p["code"] == "no_nvidia_gpu":
            continue  # said in full below
        out.append(_severity(p["severity"]) + _styled(f" {p['code']}: {p['message']}", ""))
    if not doc["cards"]:
        lines = ["No NVIDIA GPU was found on this machine. Checked:"]
        lines += [f"  - {c['how']}: {c['found']}" for c in doc["checked"] if c["what"] == "gpus"]
        lines.append("With an NVIDIA GPU, gpuwise doctor checks:")
        lines += [f"  - {w}" for w in doc["what_it_checks"]]
        lines.append(
            "To check a machine you do not have here: gpuwise doctor --card NAME "
            "[--driver VERSION] [--torch VERSION] [--os windows]"
        )
        if doc["install"] and doc["install"].get("command"):
            lines.append(f"CPU-only PyTorch: {doc['install']['command']}")
        out.append("\n".join(lines))
    for c in doc["cards"]:
        t = _table(
            title=f"{c['name']}  (CC {c['compute_capability'] or '?'}, {c['architecture'] or '?'})",
            show_header=True,
        )
        t.add_column("", no_wrap=True)
        t.add_column("Code", no_wrap=True)
        t.add_column("What", overflow="fold")
        for p in c["problems"]:
            t.add_row(_severity(p["severity"]), p["code"], p["message"])
        if not any(p["severity"] == "error" for p in c["problems"]):
            t.add_row(_styled("ok", "green"), "", "nothing blocks this card")
        for a in c["advice"]:
            t.add_row("advice", a["code"], a["message"])
        out.append(t)
        inst = c["install"] or {}
        if inst.get("command"):
            out.append(f"Install for {c['name']}: {inst['command']}\n  ({inst['note']})")
        elif inst.get("note"):
            out.append(f"No PyTorch wheel for {c['name']}: {inst['note']}")
        out += card_lines(c)
    whole = doc["install"] or {}
    if doc["cards"] and len(doc["cards"]) > 1 and whole.get("command"):
        out.append(f"Install for all cards: {whole['command']}")
    return out


def advice_table(a: dict[str, Any]) -> Table:
    """What to change so a job fits a card: now :func:`gpuwise.render.plan_tables.advice_table`
    (named here too for the recommend tables)."""
    from gpuwise.render.plan_tables import advice_table as made

    return made(a)


def mnist_table(doc: dict[str, Any]) -> Table:
    """``gpuwise mnist``: one row per run (implementation, device, loop), accuracy and time."""
    ds = doc["dataset"]
    checked = {True: ", published SHA-256", False: ", not the published files", None: ""}
    table = _table(
        title=f"{doc['model']['layers']} ({count(doc['model']['params'])} parameters) on "
        f"{ds['name']}: {ds['train_images']:,} train / {ds['test_images']:,} test "
        f"images {ds['image_shape'][0]}x{ds['image_shape'][1]}{checked[ds['published_checksums']]}",
        caption=f"{doc['settings']['epochs']} epochs, seed {doc['settings']['seed']}. "
        "s/epoch: the median epoch after the first (which also warms up). "
        "GPU speedup: one epoch of the same loop on the CPU over the GPU's.",
    )
    for col in ("Run", "Device", "Optimizer", "Batch", "LR", "Test acc.", "s/epoch", "GPU speedup"):
        table.add_column(col, no_wrap=col != "Run", justify="left" if col == "Run" else "right")
    for r in doc["runs"]:
        name = {"numpy": "NumPy", "keras": "Keras"}.get(r["impl"], f"PyTorch {r['loop']}")
        extras = [x for x, on in (("bf16", r["bf16"]), ("compiled", r["compiled"])) if on]
        table.add_row(
            name + (f" ({', '.join(extras)})" if extras else ""),
            r["device"],
            r["optimizer"],
            str(r["batch"]),
            f"{r['lr']:g}",
            f"{100 * r['test_accuracy']:.2f} %",
            f"{r['steady_epoch_seconds']:.3f}",
            "—" if r["gpu_speedup"] is None else f"{r['gpu_speedup']:.1f}x",
        )
    return table
