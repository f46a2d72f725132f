"""The advice for a GGUF model that does not fit a card under llama.cpp, for people: each change
with the memory on the fullest card, whether every layer fits, the layers on the cards, the
decode speed and its ratio to the plan as asked. Read from the ``advice`` document
(:func:`gpuwise.infer.advice.advice_dict`); every word is the catalogue's."""

from __future__ import annotations

from gpuwise.i18n import t
from gpuwise.render.table_kit import add_columns, table
from gpuwise.units import gib, num

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

    from rich.table import Table


def llama_advice_table(a: dict[str, Any]) -> Table:
    tbl = table(
        title=t(
            "infer.advice.title",
            card=a["card"],
            why=str(a["why"]),
            need=gib(a["required_bytes"]),
            usable=gib(a["usable_bytes"]),
        ),
        caption=t("infer.advice.caption"),
        caption_justify="left",
    )
    headers = [
        t("infer.advice.col.change"),
        t("recommend.col.gib"),
        t("infer.advice.col.fits"),
        t("infer.col.split_layers"),
        t("infer.col.decode"),
        t("infer.advice.col.vs"),
        t("infer.advice.col.caveat"),
    ]
    rows = [
        [
            str(ch["change"]),
            gib(ch["required_per_gpu_bytes"]),
            t("infer.advice.yes" if ch["fits"] else "infer.advice.no"),
            f"{ch['gpu_layers']}/{ch['total_layers']}",
            num(ch["decode_tokens_per_s"], 1),
            "—" if ch["speed_vs_now"] is None else f"{ch['speed_vs_now']:.2f}x",
            str(ch["caveat"] or ""),
        ]
        for ch in [*a["fits_alone"], *a["not_enough"]]
    ]
    add_columns(tbl, headers, rows, text=(0, 2, 6))
    for row in rows:
        tbl.add_row(*row)
    return tbl
