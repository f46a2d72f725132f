"""The tables of a vLLM plan (``plan --task infer --engine vllm``), drawn from its ``--json``
document: the first card's memory as vLLM shares it out (per rank), and one row per card with
the KV cache, the sequences it holds and the throughput."""

from __future__ import annotations

from gpuwise.i18n import t
from gpuwise.render.table_kit import add_columns, styled, table
from gpuwise.units import count, gib

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

    from rich.table import Table


def vllm_tables(doc: dict[str, Any]) -> list[Table]:
    return [memory_table(doc), cards_table(doc)]


def _yes(flag: bool) -> Any:
    return styled(t("infer.table.yes"), "green") if flag else styled(t("infer.table.no"), "red")


def memory_table(doc: dict[str, Any]) -> Table:
    """The first card's memory, one rank: vLLM's budget and what it is spent on."""
    m, e, first = doc["model"], doc["engine"], doc["cards"][0]
    sv, mem = first["serving"], first["memory"]
    title = t(
        "vllm.table.title",
        name=m["name"],
        params=count(m["params"]),
        weights=e["weight_type"],
        card=first["name"],
        tp=e["tensor_parallel"],
    )
    lines = [t("infer.table.note", note=str(n)) for n in mem["notes"]]
    tbl = table(title=title, caption="\n".join(lines), caption_justify="left")
    per = sv["per_gpu"]
    rows = [
        (t("vllm.row.budget"), per["budget_bytes"]),
        (t("vllm.row.weights"), per["weights_bytes"]),
        (t("vllm.row.activation"), per["activation_peak_bytes"]),
        (t("vllm.row.non_torch"), per["non_torch_bytes"]),
        (t("vllm.row.kv"), sv["kv_cache_bytes"]),
        (t("vllm.row.cuda_graph"), per["cuda_graph_bytes"]),
    ]
    shown = [(name, gib(n), f"{n:,}") for name, n in rows]
    headers = [t("infer.col.memory"), t("infer.col.gib"), t("infer.col.bytes")]
    add_columns(tbl, headers, shown, text=(0,))
    for row in shown:
        tbl.add_row(*row)
    return tbl


def cards_table(doc: dict[str, Any]) -> Table:
    """One row per card: fits, KV cache (GiB, tokens), sequences at once, the load planned,
    throughput at it and one sequence's decode speed."""
    said = [[str(n) for n in c["time"]["notes"]] for c in doc["cards"]]
    notes = []
    for c, own in zip(doc["cards"], said, strict=True):
        notes += [t("infer.table.card_note", card=c["name"], note=n) for n in own]
    notes += [
        t("infer.table.card_note", card=c["name"], note=str(p))
        for c in doc["cards"]
        for p in c["problems"]
    ]
    tbl = table(title=t("infer.table.cards"), caption="\n".join(notes), caption_justify="left")
    rows = []
    for c in doc["cards"]:
        sv = c["serving"]
        rows.append(
            (
                c["name"].replace("GeForce ", ""),
                _yes(c["fits"]),
                gib(sv["kv_cache_bytes"]),
                f"{sv['kv_cache_tokens']:,}",
                f"{sv['max_concurrent_seqs']:,}",
                f"{sv['concurrency']:,}",
                f"{sv['throughput_tokens_per_s']:,.0f}",
                f"{c['time']['decode_tokens_per_s']:,.1f}",
            )
        )
    headers = [
        t("infer.col.card"),
        t("infer.col.fits"),
        t("vllm.col.kv_gib"),
        t("vllm.col.kv_tokens"),
        t("vllm.col.seqs"),
        t("vllm.col.load"),
        t("vllm.col.throughput"),
        t("vllm.col.decode"),
    ]
    add_columns(tbl, headers, [tuple(str(x) for x in r) for r in rows], text=(0,))
    for row in rows:
        tbl.add_row(*row)
    return tbl
