"""An explanation for people (``gpuwise explain``): a heading, then each step as its title,
its idea, a table of items with their formula and value, and its notes. Reads the document
``--json`` prints, so every figure on screen is the JSON's; every word is the catalogue's, in
the language in use."""

from __future__ import annotations

import re

from gpuwise.explain.step import per, sci
from gpuwise.i18n import t
from gpuwise.render.table_kit import add_columns, cells, styled, table
from gpuwise.units import count, gib

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

#: The widest a name keeps a text column (a longer one folds).
_NAME_CELLS = 48

#: How a LoRA method is said in the heading.
_METHODS = {"lora": "explain.method.lora", "qlora": "explain.method.qlora"}

#: Seconds in a minute, an hour and a day, and the longest a time is shown in the unit below.
_MINUTE, _HOUR, _DAY = 60.0, 3600.0, 86400.0


def duration(seconds: float) -> str:
    """``0.038 s``, ``2.28 s``, ``12.5 min``, ``3.2 h``, ``12.9 days``: in the largest unit
    that keeps the figure at most a few hundred."""
    if seconds < 2 * _MINUTE:
        digits = 3 if seconds < 1 else 2
        return t("explain.unit.s", value=f"{seconds:,.{digits}f}")
    if seconds < 2 * _HOUR:
        return t("explain.unit.min", value=f"{seconds / _MINUTE:,.1f}")
    if seconds < 2 * _DAY:
        return t("explain.unit.h", value=f"{seconds / _HOUR:,.1f}")
    return t("explain.unit.days", value=f"{seconds / _DAY:,.1f}")


def value_text(value: Any, unit: str) -> str:
    """A line's value in its unit, for a table cell."""
    if value is None:
        return t("explain.unit.unknown")
    if unit == "params":
        return t("explain.unit.params", value=f"{value:,}", short=count(value))
    if unit == "bytes":
        return gib(value)
    if unit == "flops":
        return t("explain.unit.flops", value=sci(value))
    if unit == "flop_s":
        return t("explain.unit.flop_s", value=per(value / 1e12))
    if unit == "s":
        return duration(value)
    if unit == "tokens_s":
        return t("explain.unit.tokens_s", value=f"{value:,.1f}")
    if unit == "fraction":
        return t("explain.unit.fraction", value=per(100 * value))
    if unit == "kwh":
        return t("explain.unit.kwh", value=f"{value:,.2f}")
    if unit == "bool":
        return t("explain.value.yes" if value else "explain.value.no")
    return str(value)


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
            value_text(x["value"], x["unit"]),
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
