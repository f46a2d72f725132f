"""``gpuwise plan`` for people: the memory of the step, the cards, and the advice when the one
card asked for is too small. Tables read the same document ``--json`` prints; every word is the
catalogue's (:func:`gpuwise.i18n.t`), in the language in use, and figure columns are as wide
as their widest cell in terminal cells (:func:`gpuwise.render.table_kit.add_columns`), so a
Chinese table lines up as an English one does.
"""

from __future__ import annotations

from gpuwise.i18n import t
from gpuwise.render.table_kit import add_columns, styled, table
from gpuwise.units import count, gib, num

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

    from rich.table import Table
    from rich.text import Text

#: The memory breakdown's kinds (``memory.breakdown`` keys), as the table names them.
KINDS = {
    "weights": "plan.kind.weights",
    "gradients": "plan.kind.gradients",
    "optimizer": "plan.kind.optimizer",
    "activations": "plan.kind.activations",
    "kv_cache": "plan.kind.kv_cache",
    "temporaries": "plan.kind.temporaries",
}
#: The phases of the step the peak can fall in (``memory.peak_phase``).
PHASES = {
    "forward": "plan.phase.forward",
    "backward": "plan.phase.backward",
    "backward_layers": "plan.phase.backward_layers",
    "backward_end": "plan.phase.backward_end",
    "root_reduce": "plan.phase.root_reduce",
    "optimizer": "plan.phase.optimizer",
    "prefill": "plan.phase.prefill",
}
#: The cards table's columns, by what they show.
CARD_COLUMNS = {
    "card": "plan.col.card",
    "precision": "plan.col.precision",
    "required": "plan.col.required",
    "usable": "plan.col.usable",
    "fits": "plan.col.fits",
    "headroom": "plan.col.headroom",
    "max_batch": "plan.col.max_batch",
    "max_seq": "plan.col.max_seq",
    "tokens_s": "plan.col.tokens_s",
    "step": "plan.col.step",
    "mfu": "plan.col.mfu",
    "prefill": "plan.col.prefill",
    "decode": "plan.col.decode",
    "time": "plan.col.time",
    "kwh": "plan.col.kwh",
}
#: The advice table's columns.
ADVICE_COLUMNS = ("advice.col.change", "advice.col.gib", "advice.col.fits")
ADVICE_MORE = ("advice.col.speed", "advice.col.caveat")


def said(table_of: dict[str, str], value: str) -> str:
    """``value`` (a code from the document) in words where ``table_of`` names it, else as is
    (a code added since: shown, never refused)."""
    found = table_of.get(value)
    return t(found) if found is not None else value


def yes_no(fits: bool, mark: str = "") -> Text:
    return styled(t("plan.yes"), "green") if fits else styled(t("plan.no") + mark, "red")


def duration(seconds: float | None) -> str:
    """Seconds as the largest unit that reads well: days, hours, minutes or seconds."""
    if seconds is None:
        return "—"
    for unit, size in (("plan.unit.d", 86400), ("plan.unit.h", 3600), ("plan.unit.min", 60)):
        if seconds >= size:
            return t(unit, n=f"{seconds / size:,.1f}")
    return t("plan.unit.s", n=f"{seconds:,.2f}")


def short_name(name: str) -> str:
    """A card's name without the brand words every row would repeat."""
    return name.removeprefix("GeForce ").removeprefix("NVIDIA ")


def plan_tables(doc: dict[str, Any]) -> list[Table]:
    out: list[Table] = [memory_table(doc), cards_table(doc)]
    advised = doc.get("card_advice") or ([doc["advice"]] if doc.get("advice") else [])
    out += [advice_table(a) for a in advised]
    return out


def _own_memory(doc: dict[str, Any]) -> bool:
    """Whether cards in different precisions need different memory (the memory table is then
    the first card's)."""
    return len({c["memory"]["required_bytes"] for c in doc["cards"]}) > 1


def memory_table(doc: dict[str, Any]) -> Table:
    """The memory of one card: the breakdown, the peak, what CUDA and the allocator add."""
    from gpuwise.render.precision_text import workload_text

    m, w, mem = doc["model"], doc["workload"], doc["memory"]
    lines = [
        t("plan.table.workload", workload=workload_text(w)),
        t(
            "plan.table.peak",
            phase=said(PHASES, mem["peak_phase"]),
            terms=mem["terms_from"],
        ),
    ]
    lines += [t("plan.table.note", note=str(n)) for n in mem["notes"]]
    title = t(
        "plan.table.title", name=m["name"], model_type=m["model_type"], params=count(m["params"])
    )
    par = doc.get("parallel")
    if par and par["memory_is_per_gpu"]:
        title = t("plan.table.per_card", title=title, strategy=par["strategy"], count=par["gpus"])
        if par["host_ram_bytes"]:
            lines.append(t("plan.table.host_ram", size=gib(par["host_ram_bytes"])))
    if _own_memory(doc):
        first = doc["cards"][0]
        lines.append(t("plan.table.own_memory", precision=first["precision"], card=first["name"]))
    tbl = table(title=title, caption="\n".join(lines), caption_justify="left")
    rows: list[tuple[str, str, str]] = []
    for kind, n in mem["breakdown"].items():
        if kind != "overhead" and n:
            rows.append((said(KINDS, kind), gib(n), f"{n:,}"))
    for key, n in (
        ("plan.row.peak", mem["peak_allocated_bytes"]),
        ("plan.row.context", mem["overhead"]["cuda_context_bytes"]),
        ("plan.row.allocator", mem["overhead"]["allocator_bytes"]),
    ):
        rows.append((t(key), gib(n), f"{n:,}"))
    need = mem["required_bytes"]
    required = (t("plan.row.required"), gib(need), f"{need:,}")
    headers = [t("plan.col.memory"), t("plan.col.gib"), t("plan.col.bytes")]
    add_columns(tbl, headers, [*rows, required], text=(0,))
    for row in rows:
        tbl.add_row(*row)
    tbl.add_row(styled(required[0], "bold"), styled(required[1], "bold"), required[2])
    return tbl


def cards_table(doc: dict[str, Any]) -> Table:
    """One row per card: precision, fit, headroom, the largest batch and sequence, speed."""
    from gpuwise.render.precision_text import precision_cell, precision_notes

    train = doc["workload"]["task"] == "train"
    own_memory = _own_memory(doc)
    columns = ["card", "precision", *(["required"] if own_memory else [])]
    columns += ["usable", "fits", "headroom", "max_batch", "max_seq"]
    columns += ["tokens_s", "step", "mfu"] if train else ["prefill", "decode"]
    if doc["tokens"]:
        columns += ["time", "kwh"]
    notes: list[str] = []
    rows: list[list[str | Text]] = []
    for c in doc["cards"]:
        tm = c["time"]
        for n in [*c["problems"], *tm.get("notes", [])]:
            note = t("plan.table.card_note", card=c["name"], note=str(n))
            if note not in notes:
                notes.append(note)
        usable = gib(c["usable_memory_bytes"]) + ("" if c["usable_memory_measured"] else "*")
        row: list[str | Text] = [
            short_name(c["name"]),
            precision_cell(c),
            *([gib(c["memory"]["required_bytes"])] if own_memory else []),
            usable,
            yes_no(c["fits"], "*" if c["problems"] else ""),
            gib(c["headroom_bytes"]),
            num(c["max_batch"]),
            num(c["max_seq"]),
        ]
        if train:
            row += [
                num(tm.get("train_tokens_per_s"), 0),
                duration(tm.get("step_s")),
                num(tm.get("mfu"), 2),
            ]
        else:
            row += [num(tm.get("prefill_tokens_per_s"), 0), num(tm.get("decode_tokens_per_s"), 1)]
        if doc["tokens"]:
            row += [
                duration(tm.get("time_to_train_s") or tm.get("time_to_generate_s")),
                num(tm.get("energy_kwh"), 2),
            ]
        rows.append(row)
    legend = t("plan.table.legend_usable")
    if any(c["problems"] for c in doc["cards"]):
        legend += t("plan.table.legend_cannot")
    legend += t("plan.table.legend_rest")
    ranges = [range_line(c) for c in doc["cards"]] if train else []
    lines = [legend, *[r for r in ranges if r], *precision_notes(doc["cards"], "name"), *notes]
    lines += [t("plan.table.wrote", path=path) for path in doc.get("emitted", [])]
    tbl = table(title=t("plan.table.cards"), caption="\n".join(lines), caption_justify="left")
    add_columns(tbl, [t(CARD_COLUMNS[k]) for k in columns], rows, text=(0,))
    for row in rows:
        tbl.add_row(*row)
    return tbl


def advice_table(a: dict[str, Any]) -> Table:
    """What to change so a job fits a card (``advice`` of plan and recommend)."""
    several = a.get("gpus", 1) > 1 or a.get("strategy", "single") != "single"
    tbl = table(
        title=t(
            "advice.table.title_parallel" if several else "advice.table.title",
            card=a["card"],
            why=str(a["why"]),
            need=gib(a["required_bytes"]),
            usable=gib(a["usable_bytes"]),
            count=a.get("gpus", 1),
            strategy=a.get("strategy", "single"),
        ),
        caption=t("advice.table.caption"),
        caption_justify="left",
    )
    changes = _in_order(a)
    rows: list[list[str | Text]] = [
        [
            str(ch["change"]),
            gib(ch["required_per_gpu_bytes"]),
            yes_no(ch["fits"]),
            "—" if ch["speed_vs_now"] is None else f"{ch['speed_vs_now']:.2f}x",
            str(ch["caveat"] or ""),
        ]
        for ch in changes
    ]
    headers = [t(k) for k in (*ADVICE_COLUMNS, *ADVICE_MORE)]
    add_columns(tbl, headers, rows, text=(0, 2, 4))
    for row in rows:
        tbl.add_row(*row)
    return tbl


def _tier(ch: dict[str, Any], asked: dict[str, Any] | None) -> int:
    """How much a change changes the job (as :func:`gpuwise.plan.advice.change_tier`): 0 runs
    it as asked on the cards, 1 offloads to host RAM, 2 trains something else or less."""
    w = ch["workload"]
    if asked is not None and (w.get("method") != asked.get("method") or w["seq"] != asked["seq"]):
        return 2
    return 1 if "offload" in ch["strategy"] else 0


def _in_order(a: dict[str, Any]) -> list[dict[str, Any]]:
    """The advice's rows: what fits, memory saved on the cards first (a stack of such changes
    included), then offload, then a changed job; then what is not enough."""
    asked = a.get("workload")
    fits = list(a["fits_alone"])
    rest = list(a["not_enough"])
    stack = a["stacked"]
    if stack is not None:
        (fits if stack["fits"] else rest).append(stack)
    fits.sort(key=lambda ch: _tier(ch, asked))  # stable: the advice's own order within a tier
    return fits + rest


def range_line(card: dict[str, Any]) -> str | None:
    """A card's training tokens/s with the range its calibration gives, "RTX 4090: 1,983
    tokens/s (1,586–2,459)"; None without one."""
    tm = card["time"]
    tps, low, high = (
        tm.get(k) for k in ("train_tokens_per_s", "tokens_per_s_low", "tokens_per_s_high")
    )
    if tps is None or low is None or high is None:
        return None
    return t(
        "timing.range_line",
        card=short_name(card["name"]),
        tps=num(tps, 0),
        low=num(low, 0),
        high=num(high, 0),
    )
