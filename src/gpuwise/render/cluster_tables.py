"""``gpuwise plan --nodes M ...`` for people: each card's cluster, layout, memory per GPU
(the fullest rank), step time, the alternatives and the changes that make it fit."""

from __future__ import annotations

from gpuwise.i18n import t
from gpuwise.render.plan_tables import duration
from gpuwise.render.table_kit import add_columns, cells, styled, table
from gpuwise.units import gib, num

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

    from rich.table import Table

_PARTS = (
    ("weights", "cluster.kind.weights"),
    ("gradients", "cluster.kind.gradients"),
    ("optimizer", "cluster.kind.optimizer"),
    ("activations", "cluster.kind.activations"),
    ("temporaries", "cluster.kind.temporaries"),
    ("comm_buffers", "cluster.kind.comm_buffers"),
    ("cuda_context", "cluster.kind.cuda_context"),
)


def _time_cells(tm: dict[str, Any] | None) -> list[str]:
    if tm is None:
        return ["—", "—", "—"]
    return [num(tm["step_s"], 2), f"{tm['tokens_per_s']:,.0f}", f"{100 * tm['mfu']:.1f} %"]


def cluster_tables(doc: dict[str, Any]) -> list[Table | str]:
    out: list[Table | str] = []
    for card in doc["cards"]:
        c = card["cluster"]
        m = c["per_gpu_memory"]
        lay = c["layout"]
        title = t(
            "cluster.title",
            model=doc["model"]["name"],
            card=card["name"],
            nodes=c["nodes"],
            gpus=c["gpus_per_node"],
            network=c["network"] or "—",
        )  # the layout is the first row of the layouts table (a title would fold it)
        tbl = table(title=title, title_justify="left")
        rows = [[t(key), gib(m[part])] for part, key in _PARTS]
        rows.append([t("cluster.kind.total"), gib(m["total"])])
        rows.append([t("cluster.kind.usable"), gib(m["usable"])])
        add_columns(tbl, [t("cluster.col.what"), t("cluster.col.per_gpu")], rows, text=(0,))
        for row in rows:
            tbl.add_row(*row)
        verdict = t("cluster.fits") if m["fits"] else t("cluster.no_fit")
        tbl.caption = verdict
        out.append(tbl)
        heads = [
            t("cluster.col.layout"),
            t("cluster.col.total"),
            t("cluster.col.step"),
            t("cluster.col.tokens_s"),
            t("cluster.col.mfu"),
        ]
        lrows = [[lay["text"], gib(m["total"]), *_time_cells(c["time"])]]
        for a in c["alternatives"]:
            lrows.append(
                [a["layout"]["text"], gib(a["per_gpu_memory"]["total"]), *_time_cells(a["time"])]
            )
        lt = table(title=t("cluster.layouts_title"), title_justify="left")
        # a layout's text is a name: never folded, left as text is
        width = max(cells(r[0]) for r in [[heads[0]], *lrows])
        lt.add_column(heads[0], no_wrap=True, min_width=width)
        add_columns(lt, heads[1:], [r[1:] for r in lrows])
        for i, row in enumerate(lrows):
            lt.add_row(*(styled(row[0], "bold") if i == 0 else row[0], *row[1:]))
        out.append(lt)
        whys = [*c.get("why", []), *(w for a in c["alternatives"] for w in a["why"])]
        if whys:  # --layout auto: why each was chosen
            out.append("\n".join(f"- {w}" for w in whys))
        if c["changes"]:
            ct = table(title=t("cluster.changes_title"), title_justify="left")
            crow = [
                [str(ch["change"]), ch["layout"]["text"], gib(ch["total"])] for ch in c["changes"]
            ]
            add_columns(
                ct,
                [t("cluster.col.change"), t("cluster.col.layout"), t("cluster.col.total")],
                crow,
                text=(0,),
            )
            for row in crow:
                ct.add_row(*row)
            out.append(ct)
        elif not m["fits"]:
            out.append(t("cluster.no_change"))
        notes = [*m["notes"], *((c["time"] or {}).get("notes", []))]
        run_s = (c["time"] or {}).get("time_to_train_s")
        if run_s is not None:
            trained = f"{doc['tokens']:,}"
            notes.insert(0, t("cluster.time_to_train", tokens=trained, time=duration(run_s)))
        if notes:
            out.append("\n".join(f"- {n}" for n in notes))
    return out
