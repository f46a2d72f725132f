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
from gpuwise.units import count, gib, num

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

    from rich.table import Table
    from rich.text import Text


def _yes_no(fits: bool, mark: str = "") -> Text:
    return _styled("yes", "green") if fits else _styled("no" + mark, "red")


def _duration(seconds: float | None) -> str:
    if seconds is None:
        return "—"
    for unit, size in (("d", 86400), ("h", 3600), ("min", 60)):
        if seconds >= size:
            return f"{seconds / size:,.1f} {unit}"
    return f"{seconds:,.2f} s"


def plan_tables(doc: dict[str, Any]) -> list[Table]:
    m, w, mem = doc["model"], doc["workload"], doc["memory"]
    from gpuwise.render.precision_text import precision_cell, precision_notes, workload_text

    what = workload_text(w)
    # cards in different precisions need different memory: the table above is the first's
    own_memory = len({c["memory"]["required_bytes"] for c in doc["cards"]}) > 1
    memory = _table(
        title=f"{m['name']} ({m['model_type']}, {count(m['params'])} params)",
        caption=f"Workload: {what}.\nPeak during: {mem['peak_phase']}. Activation terms: "
        f"{mem['terms_from']}." + "".join(f"\nNote: {n}" for n in mem["notes"]),
        caption_justify="left",
    )
    par = doc.get("parallel")
    if par and par["memory_is_per_gpu"]:
        memory.title = f"{memory.title}: per card, {par['strategy']} on {par['gpus']} cards"
        if par["host_ram_bytes"]:
            memory.caption = f"{memory.caption}\nHost RAM for offload: {gib(par['host_ram_bytes'])}"
    if own_memory:
        first = doc["cards"][0]
        memory.caption = (
            f"{memory.caption}\nMemory in {first['precision']}, as {first['name']} runs it; "
            "cards in other precisions need what their Required column says."
        )
    memory.add_column("Memory")
    memory.add_column("GiB", justify="right", no_wrap=True)
    memory.add_column("Bytes", justify="right", no_wrap=True)
    for kind, n in mem["breakdown"].items():
        if kind != "overhead" and n:
            memory.add_row(kind, gib(n), f"{n:,}")
    memory.add_row(
        "peak allocated (torch)",
        gib(mem["peak_allocated_bytes"]),
        f"{mem['peak_allocated_bytes']:,}",
    )
    memory.add_row(
        "+ CUDA context",
        gib(mem["overhead"]["cuda_context_bytes"]),
        f"{mem['overhead']['cuda_context_bytes']:,}",
    )
    memory.add_row(
        "+ allocator overhead",
        gib(mem["overhead"]["allocator_bytes"]),
        f"{mem['overhead']['allocator_bytes']:,}",
    )
    memory.add_row(
        _styled("required", "bold"),
        _styled(gib(mem["required_bytes"]), "bold"),
        f"{mem['required_bytes']:,}",
    )

    train = w["task"] == "train"
    notes: list[str] = []
    cards = _table(title="Cards", caption_justify="left")
    headers = ["Card", "Precision", *(["Required"] if own_memory else [])]
    headers += ["Usable", "Fits", "Headroom", "Max batch", "Max seq"]
    headers += ["Tokens/s", "Step", "MFU"] if train else ["Prefill tok/s", "Decode tok/s"]
    if doc["tokens"]:
        headers += ["Time", "kWh"]
    rows: list[list[str | Text]] = []
    for c in doc["cards"]:
        t = c["time"]
        for n in [*c["problems"], *t.get("notes", [])]:
            note = f"{c['name']}: {n}"
            if note not in notes:
                notes.append(note)
        row: list[str | Text] = [
            c["name"].removeprefix("GeForce ").removeprefix("NVIDIA "),
            precision_cell(c),
            *([gib(c["memory"]["required_bytes"])] if own_memory else []),
            gib(c["usable_memory_bytes"]) + ("" if c["usable_memory_measured"] else "*"),
            _yes_no(c["fits"], "*" if c["problems"] else ""),
            gib(c["headroom_bytes"]),
            num(c["max_batch"]),
            num(c["max_seq"]),
        ]
        if train:
            row += [
                num(t.get("train_tokens_per_s"), 0),
                _duration(t.get("step_s")),
                num(t.get("mfu"), 2),
            ]
        else:
            row += [num(t.get("prefill_tokens_per_s"), 0), num(t.get("decode_tokens_per_s"), 1)]
        if doc["tokens"]:
            row += [
                _duration(t.get("time_to_train_s") or t.get("time_to_generate_s")),
                num(t.get("energy_kwh"), 2),
            ]
        rows.append(row)
    for i, col in enumerate(headers):
        if col == "Card":
            cards.add_column(col, overflow="fold")
        else:
            width = max([len(col), *(len(str(r[i])) for r in rows)])
            cards.add_column(col, justify="right", no_wrap=True, min_width=width)
    for row in rows:
        cards.add_row(*row)
    cards.caption = (
        "Usable: memory PyTorch can use (* estimated). "
        + (
            "Fits no*: the card cannot run this workload whatever its memory (below). "
            if any(c["problems"] for c in doc["cards"])
            else ""
        )
        + "Headroom: usable - reserve - required. "
        "Max batch / seq: the largest that fit (other settings as asked)."
        + "".join(f"\n{n}" for n in precision_notes(doc["cards"], "name"))
        + "".join(f"\n{n}" for n in notes)
        + "".join(f"\nWrote {path}" for path in doc.get("emitted", []))
    )
    out: list[Table] = [memory, cards]
    if doc.get("advice"):
        out.append(advice_table(doc["advice"]))
    return out


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
    """What to change so a job fits a card (``advice`` of recommend and plan)."""
    adv = _table(
        title=f"To fit {a['card']} ({a['why']}): needs {gib(a['required_bytes'])} of "
        f"{gib(a['usable_bytes'])}",
        caption="Speed: tokens/s (trained, or generated) relative to the job as asked.",
        caption_justify="left",
    )
    for col in ("Change", "GiB/card", "Fits", "Speed", "Caveat"):
        adv.add_column(col, justify="right" if col in ("GiB/card", "Speed") else "left")
    rows = a["fits_alone"] + a["not_enough"] + ([a["stacked"]] if a["stacked"] else [])
    for ch in rows:
        adv.add_row(
            ch["change"],
            gib(ch["required_per_gpu_bytes"]),
            _yes_no(ch["fits"]),
            "—" if ch["speed_vs_now"] is None else f"{ch['speed_vs_now']:.2f}x",
            ch["caveat"] or "",
        )
    return adv


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
