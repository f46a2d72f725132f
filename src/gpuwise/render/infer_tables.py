"""The tables of a llama.cpp / Ollama plan (``plan --task infer --engine llama.cpp|ollama``),
drawn from its ``--json`` document: the engine and what it assumed, one row per card (or
machine) with its GPU layers, what the card holds, what stays in host RAM and the speed, the
first card's memory as llama.cpp allocates it, and the cards of a layer split."""

from __future__ import annotations

from gpuwise.i18n import t
from gpuwise.render.table_kit import add_columns, styled, table
from gpuwise.units import count, gib

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

    from rich.table import Table


def llama_tables(doc: dict[str, Any]) -> list[Table]:
    out = [memory_table(doc), cards_table(doc)]
    row = doc["engine"].get("split_mode") == "row"
    out += [split_table(c, row) for c in doc["cards"] if c.get("per_gpu")]
    if doc.get("advice"):  # the one card asked for does not hold every layer
        from gpuwise.render.infer_advice_tables import llama_advice_table

        out.append(llama_advice_table(doc["advice"]))
    return out


def _short(name: str) -> str:
    """A card or machine name for a table column: GeForce left out, a machine's cards on
    lines of their own."""
    return name.replace("GeForce ", "").replace(" + ", " +\n")


def _yes(flag: bool) -> Any:
    return styled(t("infer.table.yes"), "green") if flag else styled(t("infer.table.no"), "red")


def memory_table(doc: dict[str, Any]) -> Table:
    """The first card's memory as llama.cpp allocates it, and what stays in host RAM."""
    m, e, first = doc["model"], doc["engine"], doc["cards"][0]
    mem, off = first["memory"], first["offload"]
    b = mem["breakdown"]
    title = t(
        "infer.table.title",
        name=m["name"],
        params=count(m["params"]),
        engine=e["name"],
        weights=e["weight_type"].upper(),
        card=first["name"],
    )
    lines = [t("infer.table.note", note=str(n)) for n in mem["notes"]]
    tbl = table(title=title, caption="\n".join(lines), caption_justify="left")
    rows = [
        (t("infer.row.weights"), b["weights"]),
        (t("infer.row.kv"), b["kv_cache"]),
        (t("infer.row.compute"), b["activations"]),
        (t("infer.row.context"), mem["overhead"]["cuda_context_bytes"]),
    ]
    shown = [(name, gib(n), f"{n:,}") for name, n in rows]
    need = mem["required_bytes"]
    required = (t("infer.row.required"), gib(need), f"{need:,}")
    host = off["host_bytes"]
    host_row = (t("infer.row.host"), gib(host), f"{host:,}")
    headers = [t("infer.col.memory"), t("infer.col.gib"), t("infer.col.bytes")]
    add_columns(tbl, headers, [*shown, required, host_row], text=(0,))
    for row in shown:
        tbl.add_row(*row)
    tbl.add_row(styled(required[0], "bold"), styled(required[1], "bold"), required[2])
    tbl.add_row(*host_row)
    return tbl


def cards_table(doc: dict[str, Any]) -> Table:
    """One row per card or machine: GPU layers, needed and usable memory, fit, host RAM, speed."""
    said = [[str(n) for n in c["time"]["notes"]] for c in doc["cards"]]
    common = [n for n in said[0] if all(n in other for other in said)] if len(said) > 1 else []
    notes = [t("infer.table.note", note=n) for n in common]  # said once for every card
    for c, own in zip(doc["cards"], said, strict=True):
        notes += [
            t("infer.table.card_note", card=c["name"], note=n) for n in own if n not in common
        ]
    tbl = table(title=t("infer.table.cards"), caption="\n".join(notes), caption_justify="left")
    rows = []
    for c in doc["cards"]:
        off = c["offload"]
        rows.append(
            (
                _short(c["name"]),
                f"{off['gpu_layers']}/{off['total_layers']}",
                f"{off['n_ctx']:,}",
                gib(c["memory"]["required_bytes"]) if not c.get("per_gpu") else "—",
                gib(c["usable_memory_bytes"]) if not c.get("per_gpu") else "—",
                _yes(c["fits"]),
                gib(off["host_bytes"]),
                f"{c['max_seq']:,}" if c.get("max_seq") else "—",
                f"{c['time']['prefill_tokens_per_s']:,.0f}",
                f"{c['time']['decode_tokens_per_s']:,.1f}",
            )
        )
    headers = [
        t("infer.col.card"),
        t("infer.col.layers"),
        t("infer.col.context"),
        t("infer.col.required"),
        t("infer.col.usable"),
        t("infer.col.fits"),
        t("infer.col.host"),
        t("infer.col.max_seq"),
        t("infer.col.prefill"),
        t("infer.col.decode"),
    ]
    widest = max(len(line) for r in rows for line in r[0].split("\n"))
    add_columns(tbl, headers, [tuple(str(x) for x in r) for r in rows], text=(0,))
    tbl.columns[0].min_width = widest
    for row in rows:
        tbl.add_row(*row)
    return tbl


def split_table(card: dict[str, Any], by_rows: bool = False) -> Table:
    """The cards of one machine's layer (or row) split: layers, needed and usable memory."""
    tbl = table(
        title=t("infer.table.row_split" if by_rows else "infer.table.split", machine=card["name"])
    )
    rows = [
        (
            g["name"],
            f"{g['layers']}" + (" + " + t("infer.table.output") if g["output_layer"] else ""),
            gib(g["memory_bytes"]),
            gib(g["usable_memory_bytes"]),
        )
        for g in card["per_gpu"]
    ]
    headers = [
        t("infer.col.card"),
        t("infer.col.split_layers"),
        t("infer.col.required"),
        t("infer.col.usable"),
    ]
    add_columns(tbl, headers, rows, text=(0, 1))
    for row in rows:
        tbl.add_row(*row)
    return tbl
