"""An explanation for people (``gpuwise explain``): a heading, then each step as its title,
its idea, a table of items with their formula and value, and its notes. Reads the document
``--json`` prints, so every figure on screen is the JSON's; every word is the catalogue's, in
the language in use."""

from __future__ import annotations

import re

from gpuwise.explain.step import per
from gpuwise.i18n import t
from gpuwise.render.table_kit import add_columns, cells, styled, table

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

#: The widest a name keeps a text column (a longer one folds).
_NAME_CELLS = 48

#: How a LoRA method is said in the heading.
_METHODS = {"lora": "explain.method.lora", "qlora": "explain.method.qlora"}


def heading(doc: dict[str, Any]) -> list[str]:
    """What was explained: the model and workload, and the card (or how to give one)."""
    w, model = doc["workload"], doc["model"]["name"]
    if w["task"] == "infer":
        first = t(
            "explain.heading.infer",
            model=model,
            dtype=w["weight_dtype"],
            kv_dtype=w["kv_dtype"],
            batch=f"{w['batch']:,}",
            seq=f"{w['seq']:,}",
        )
    else:
        method = (
            t("explain.method.full")
            if w["method"] == "full"
            else t(_METHODS[w["method"]], rank=f"{w['lora_rank']:,}")
        )
        first = t(
            "explain.heading.train",
            model=model,
            method=method,
            precision=w["precision"],
            batch=f"{w['batch']:,}",
            seq=f"{w['seq']:,}",
            optimizer=w["optimizer"],
        )
        if w["grad_checkpointing"]:
            first += t("explain.heading.separator") + t("explain.heading.checkpointing")
    card = doc["card"]
    second = (
        t("explain.heading.no_card")
        if card is None
        else t("explain.heading.card", card=card["name"], memory=per(card["memory_gb"]))
    )
    return [first, second]


def _longest_name(text: str) -> int:
    """The cells of the longest word of ``text`` that holds Latin letters (a tensor's name,
    a file's path), up to :data:`_NAME_CELLS`: the table wraps between words, so a column at
    least this wide never cuts one."""
    words = [w for w in text.split() if re.search("[A-Za-z]", w)]
    return min(_NAME_CELLS, max([0, *map(cells, words)]))


def step_renderables(step: dict[str, Any]) -> list[Any]:
    """One step: its title, its idea, the table of its lines, its notes."""
    title = t("explain.step", number=step["number"], title=str(step["title"]))
    rows = [
        (
            str(x["label"]),
            "" if x["formula"] is None else str(x["formula"]),
            x["shown"],
        )
        for x in step["lines"]
    ]
    tbl = table(show_lines=False)
    add_columns(
        tbl,
        (t("explain.col.item"), t("explain.col.formula"), t("explain.col.value")),
        rows,
        text=(0, 1),
    )
    for i in (0, 1):  # a name or path is never cut: its column is at least as wide
        widest = max(_longest_name(row[i]) for row in rows)
        tbl.columns[i].min_width = max(tbl.columns[i].min_width or 0, widest)
    for row in rows:
        tbl.add_row(*row)
    notes = [t("explain.note", note=str(note)) for note in step["notes"]]
    return ["", styled(title, "bold"), str(step["idea"]), tbl, *notes]


def explain_text(doc: dict[str, Any]) -> list[Any]:
    """Every step of the explanation, after its heading."""
    out: list[Any] = [
        styled(line, "bold") if i == 0 else line for i, line in enumerate(heading(doc))
    ]
    for step in doc["steps"]:
        out += step_renderables(step)
    return out
