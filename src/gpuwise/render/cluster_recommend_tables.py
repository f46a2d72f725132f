"""``recommend`` over clusters for people: the ranked clusters (card, nodes, network), the
layout each runs, memory per GPU, step time, MFU, the job's time and cost; why the first is
first; what was searched. Read from the document ``--json`` prints; every word is the
catalogue's."""

from __future__ import annotations

from gpuwise.i18n import t
from gpuwise.recommend import currency_word
from gpuwise.render.card_tables import short_name
from gpuwise.render.recommend_tables import duration
from gpuwise.render.table_kit import add_columns, table
from gpuwise.units import num

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any


def cluster_recommend_tables(doc: dict[str, Any]) -> list[Any]:
    """The ranked clusters and the lines below them."""
    cur = str(currency_word(doc["currency"]))
    headers = [
        t("recommend.col.rank"),
        t("cluster_rec.col.cluster"),
        t("cluster_rec.col.network"),
        t("cluster_rec.col.layout"),
        t("cluster_rec.col.gib"),
        t("cluster_rec.col.step"),
        t("cluster_rec.col.mfu"),
        t("cluster_rec.col.time"),
        t("cluster_rec.col.cost", currency=cur),
    ]
    rows: list[list[str]] = []
    for o in doc["options"]:
        late = o["meets_deadline"] is False
        rows.append(
            [
                str(o["rank"]),
                t("cluster_rec.cell.cluster", nodes=o["nodes"], gpus=o["gpus_per_node"],
                  card=short_name(o["gpu"])),
                o["network"] or "—",
                _compact(o["layout"]),
                num(o["memory_gib_per_gpu"], 1),
                num(o["step_s"], 2),
                f"{o['mfu']:.0%}",
                duration(o["run_s"]) + (" " + t("cluster_rec.cell.late") if late else ""),
                "—" if o["cost"] is None else f"{o['cost']:,.0f}",
            ]
        )  # fmt: skip
    deadline = doc["deadline_s"]
    order = t(
        "cluster_rec.order.time" if doc["objective"] == "fastest" else "cluster_rec.order.cost"
    )
    common = {"model": doc["model"]["name"], "tokens": f"{doc['tokens']:,}", "order": order}
    if deadline is None:
        title = t("cluster_rec.title_no_deadline", **common)
    else:
        title = t("cluster_rec.title", deadline=duration(deadline), **common)
    tbl = table(title=title, title_justify="left")
    add_columns(tbl, headers, rows, text=(1,))  # a layout is never broken inside
    tbl.columns[3].justify = "left"
    for row in rows:
        tbl.add_row(*row)
    lines = [t("cluster_rec.searched", tried=doc["clusters_tried"], shown=len(rows),
               total=doc["options_total"])]  # fmt: skip
    if doc["options"]:
        first = doc["options"][0]
        lines.append(t("cluster_rec.first_why", why=str(first["why"][0])))
        if first["price_source"] is not None:
            lines.append(t("cluster_rec.price_line", source=str(first["price_source"])))
    lines.extend(str(n) for n in doc["notes"])
    lines.append(t("cluster_rec.model_line"))
    return [tbl, "\n".join(lines)]


def _compact(layout: str) -> str:
    """The ``--layout`` text without the sizes that are 1 by default (still a valid
    ``--layout``): ``dp=32,shard=fsdp,mb=1`` for ``tp=1,pp=1,cp=1,dp=32,shard=fsdp,mb=1``."""
    parts = [p for p in layout.split(",") if p not in ("tp=1", "pp=1", "cp=1")]
    return ",".join(parts)
