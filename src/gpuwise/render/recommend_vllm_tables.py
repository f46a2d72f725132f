"""``gpuwise recommend --task infer --engine vllm`` for people: the ranked cards (how many,
tensor parallel), the KV cache each machine holds, the sequences of ``--seq`` tokens at once,
the throughput at the load, one sequence's decode speed and the cost; what is the same on every
row said once below; why each held-back machine is held back; the advice when nothing serves.
Read from the document ``--json`` prints; every word is the catalogue's."""

from __future__ import annotations

from gpuwise.i18n import t
from gpuwise.recommend import currency_word
from gpuwise.render.card_tables import short_name
from gpuwise.render.price_text import PriceText
from gpuwise.render.recommend_tables import _why_not, objective_limits, ranked_table
from gpuwise.render.table_kit import add_columns, table
from gpuwise.units import gib, num

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

    from rich.table import Table

#: Workload keys of transformers that the engine line says for vLLM instead.
_ENGINE_SAYS = ("weight_dtype", "kv_dtype", "precision", "precision_given")


def recommend_vllm_tables(doc: dict[str, Any]) -> list[Any]:
    """The ranked vLLM machines, the lines below them, and the advice table."""
    from gpuwise.render.precision_text import workload_text

    options, e, c = doc["options"], doc["engine"], doc["constraints"]
    cur = str(currency_word(c["currency"]))
    prices = PriceText(doc)
    headers = [
        t("recommend.col.rank"),
        t("recommend.col.card"),
        t("recommend.col.count"),
        t("vllm.col.kv_tokens"),
        t("vllm.col.seqs"),
        t("vllm.col.load"),
        t("vllm.col.throughput"),
        t("vllm.col.decode"),
        t("recommend.col.cost", currency=cur),
    ]
    rows: list[list[str]] = []
    held_back: list[tuple[int, str]] = []
    for o in options:
        sv = o["serving"]
        served = o["fits"]
        rows.append(
            [
                str(o["rank"]),
                short_name(o["gpu"]),
                str(o["count"]),
                f"{sv['kv_cache_tokens']:,}",
                f"{sv['max_concurrent_seqs']:,}",
                f"{sv['concurrency']:,}" if served else "—",
                num(sv["throughput_tokens_per_s"], 0) if served else "—",
                num(o["decode_tokens_per_s"], 1) if served else "—",
                prices.cost_cell(o),
            ]
        )
        if not o["ok"]:
            held_back.append((o["rank"], str(o["reason"] or "")))
    tbl = ranked_table(doc, headers, rows)
    limits = objective_limits(doc)
    limits.append(t("vllm_rec.limit_cards", count=c["max_gpus"]))
    workload = {k: v for k, v in doc["workload"].items() if k not in _ENGINE_SAYS}
    lines = [
        t("recommend.caption.workload", what=workload_text(workload)),
        t(
            "vllm_rec.engine_line",
            weights=e["weight_type"],
            kv=e["kv_type"],
            util=f"{e['gpu_memory_utilization']:g}",
            concurrency=(
                t("vllm_rec.load_asked", n=f"{e['concurrency']:,}")
                if e["concurrency"]
                else t("vllm_rec.load_most")
            ),
        ),
        t("recommend.caption.limits", limits=t("recommend.limit.join").join(limits)),
        t("vllm_rec.columns"),
        t("recommend.caption.cost"),
        *prices.caption(),
    ]
    if held_back:
        lines += [t("recommend.caption.held_back"), *_why_not(held_back)]
    a = doc.get("advice")
    if a and a["fits_as_asked"]:
        lines.append(
            t(
                "vllm_rec.advice_fits",
                card=a["card"],
                why=str(a["why"]),
                tokens=f"{a['kv_cache_tokens']:,}",
                seqs=f"{a['max_concurrent_seqs']:,}",
            )
        )
    out: list[Any] = [tbl, "\n".join(str(line) for line in lines)]
    if a and not a["fits_as_asked"]:
        out.append(vllm_advice_table(a))
    return out


def vllm_advice_table(a: dict[str, Any]) -> Table:
    """Each change that lets vLLM serve on the card, alone: the KV cache, sequences at once,
    throughput and decode speed it gives."""
    problems = [str(p) for p in a["problems"]]
    tbl = table(
        title=t(
            "vllm_rec.advice.title",
            card=a["card"],
            why=str(a["why"]),
            tokens=f"{a['kv_cache_tokens']:,}",
            seq=f"{a['seq']:,}",
            need=gib(a["required_bytes"]),
            usable=gib(a["usable_bytes"]),
        ),
        caption="\n".join([*problems, t("vllm_rec.advice.caption")]),
        caption_justify="left",
    )
    headers = [
        t("infer.advice.col.change"),
        t("infer.advice.col.fits"),
        t("vllm.col.kv_tokens"),
        t("vllm.col.seqs"),
        t("vllm.col.throughput"),
        t("vllm.col.decode"),
        t("infer.advice.col.caveat"),
    ]
    rows = []
    for ch in [*a["fits_alone"], *a["not_enough"]]:
        serves = ch["max_concurrent_seqs"] > 0  # else no speed to speak of
        rows.append(
            [
                str(ch["change"]),
                t("infer.advice.yes" if ch["fits"] else "infer.advice.no"),
                f"{ch['kv_cache_tokens']:,}",
                f"{ch['max_concurrent_seqs']:,}",
                num(ch["throughput_tokens_per_s"], 0) if serves else "—",
                num(ch["decode_tokens_per_s"], 1) if serves else "—",
                str(ch["caveat"] or ""),
            ]
        )
    add_columns(tbl, headers, rows, text=(0, 1, 6))
    for row in rows:
        tbl.add_row(*row)
    return tbl
