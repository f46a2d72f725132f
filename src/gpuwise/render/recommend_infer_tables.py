"""``gpuwise recommend --task infer`` with llama.cpp / Ollama for people: the ranked machines
(cards, memory on the fullest card, layers on the cards, decode and prefill speed, cost), what
is the same on every row said once below, and why each held-back machine is held back. Read
from the document ``--json`` prints; every word is the catalogue's, in the language in use."""

from __future__ import annotations

from gpuwise.i18n import t
from gpuwise.recommend import currency_word
from gpuwise.render.card_tables import short_name
from gpuwise.render.price_text import PriceText
from gpuwise.render.recommend_tables import (
    _why_not,
    advice_fits_lines,
    objective_limits,
    ranked_table,
)
from gpuwise.units import GIB, num

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any


def _machine(o: dict[str, Any]) -> str:
    """``RTX 3090``; ``RTX 4090 + RTX 3090`` for a machine of different cards."""
    return " + ".join(short_name(g["name"]) for g in _distinct(o["per_gpu"]))


def _distinct(per_gpu: list[dict[str, Any]]) -> list[dict[str, Any]]:
    if len({g["name"] for g in per_gpu}) == 1:
        return per_gpu[:1]
    return per_gpu


#: Workload keys of transformers that the engine line says for llama.cpp instead.
_ENGINE_SAYS = ("weight_dtype", "kv_dtype", "precision", "precision_given")


def _workload(w: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in w.items() if k not in _ENGINE_SAYS}


def recommend_infer_tables(doc: dict[str, Any]) -> list[Any]:
    """The ranked llama.cpp machines, then the lines below them (vLLM's: its own tables)."""
    from gpuwise.render.precision_text import workload_text

    if doc["engine"]["name"] == "vllm":
        from gpuwise.render.recommend_vllm_tables import recommend_vllm_tables

        return recommend_vllm_tables(doc)

    options, e = doc["options"], doc["engine"]
    c = doc["constraints"]
    cur = str(currency_word(c["currency"]))
    prices = PriceText(doc)
    headers = [
        t("recommend.col.rank"),
        t("recommend.col.card"),
        t("recommend.col.count"),
        t("recommend.col.gib"),
        t("infer.col.split_layers"),
        t("infer.col.decode"),
        t("infer.col.prefill"),
        t("recommend.col.cost", currency=cur),
    ]
    rows: list[list[str]] = []
    held_back: list[tuple[int, str]] = []
    for o in options:
        off = o["offload"]
        rows.append(
            [
                str(o["rank"]),
                _machine(o),
                str(o["count"]),
                f"{o['required_per_gpu_bytes'] / GIB:,.2f}",
                f"{off['gpu_layers']}/{off['total_layers']}",
                num(o["decode_tokens_per_s"], 1),
                num(o["prefill_tokens_per_s"], 0),
                prices.cost_cell(o),
            ]
        )
        if not o["ok"]:
            held_back.append((o["rank"], str(o["reason"] or "")))
    tbl = ranked_table(doc, headers, rows)
    limits = objective_limits(doc)
    row = e.get("split_mode") == "row"
    limits.append(
        t("infer.rec.limit_rows" if row else "infer.rec.limit_cards", count=c["max_gpus"])
    )
    lines = [
        t("recommend.caption.workload", what=workload_text(_workload(doc["workload"]))),
        t(
            "infer.rec.engine_line",
            engine=e["name"],
            weights=str(e["weight_type"]).upper(),
            kv=e["kv_type"],
            ubatch=e["ubatch"],
            fa=t("infer.fa.on" if e["flash_attn"] else "infer.fa.off"),
        ),
        t("recommend.caption.limits", limits=t("recommend.limit.join").join(limits)),
        t("infer.rec.columns"),
        t("recommend.caption.cost"),
        *prices.caption(),
    ]
    if held_back:
        lines += [t("recommend.caption.held_back"), *_why_not(held_back)]
    a = doc.get("advice")
    lines += advice_fits_lines(a)
    out: list[Any] = [tbl, "\n".join(str(line) for line in lines)]
    if a and not a["fits_as_asked"]:
        from gpuwise.render.infer_advice_tables import llama_advice_table

        out.append(llama_advice_table(a))
    return out
