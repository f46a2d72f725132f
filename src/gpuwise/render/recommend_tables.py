"""``gpuwise recommend`` for people: the ranked options as one table that fits a 100-column
terminal, what is the same on every row said once below it (the limits, the precision, the
prices' sources), why each held-back option is held back listed by its rank, and the advice
when nothing fits. Read from the document ``--json`` prints; every word is the catalogue's
(:func:`gpuwise.i18n.t`), in the language in use."""

from __future__ import annotations

from gpuwise.i18n import t
from gpuwise.recommend import currency_word
from gpuwise.render.card_tables import short_name
from gpuwise.render.price_text import PriceText
from gpuwise.render.table_kit import add_columns, table
from gpuwise.units import GIB, gib, num

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

#: Each objective as a word of the language in use.
_OBJECTIVES = {
    "cheapest": "recommend.objective.cheapest",
    "fastest": "recommend.objective.fastest",
    "tokens-per-dollar": "recommend.objective.tokens_per_dollar",
}
#: Durations in a cell: (unit's key, seconds in it), largest first.
_UNITS = (("recommend.unit.d", 86400), ("recommend.unit.h", 3600), ("recommend.unit.min", 60))


def duration(seconds: float | None) -> str:
    """``3.5 h``, ``2.0 d``: a run's length in a cell, in its largest whole unit."""
    if seconds is None:
        return "—"
    for key, size in _UNITS:
        if seconds >= size:
            return t(key, n=f"{seconds / size:,.1f}")
    return t("recommend.unit.s", n=f"{seconds:,.2f}")


def _limits(doc: dict[str, Any]) -> str:
    """The constraints every option was held to, one line."""
    c, w = doc["constraints"], doc["workload"]
    cur = str(currency_word(c["currency"]))
    objective = doc["objective"]
    said = t(_OBJECTIVES[objective]) if objective in _OBJECTIVES else objective
    limits = [t("recommend.limit.objective", objective=said)]
    if c["budget"] is not None:
        limits.append(t("recommend.limit.budget", budget=f"{c['budget']:,.0f}", currency=cur))
    if c["max_power_w"] is not None:
        limits.append(t("recommend.limit.power", watts=f"{c['max_power_w']:g}"))
    if w["task"] == "infer":
        limits.append(t("recommend.limit.one_card"))
    else:
        limits.append(t("recommend.limit.cards", count=c["max_gpus"], ram=gib(c["host_ram_bytes"])))
    return t("recommend.limit.join").join(limits)


def _why_not(held_back: list[tuple[int, str]]) -> list[str]:
    """``#3: reason``, one line per option held back; ranks in a row held back for the same
    reason share a line (``#1-8: reason``)."""
    runs: list[list[Any]] = []
    for rank, reason in held_back:
        if runs and runs[-1][2] == reason and runs[-1][1] == rank - 1:
            runs[-1][1] = rank
        else:
            runs.append([rank, rank, reason])
    return [
        t("recommend.held_back", rank=first, reason=reason)
        if first == last
        else t("recommend.held_back_run", first=first, last=last, reason=reason)
        for first, last, reason in runs
    ]


def recommend_tables(doc: dict[str, Any]) -> list[Any]:
    """``gpuwise recommend``: the ranked options, then the advice when nothing fits."""
    from gpuwise.render.plan_tables import advice_table
    from gpuwise.render.precision_text import precision_cell, precision_notes, workload_text

    m, options = doc["model"], doc["options"]
    cur = str(currency_word(doc["constraints"]["currency"]))
    prices = PriceText(doc)
    # what is the same on every row goes below the table, not in a column
    precision = len({precision_cell(o) for o in options}) > 1
    # with --tokens, the run's time and energy say what tokens/s would (the JSON has both)
    timed = any(o["time_s"] is not None or o["energy_kwh"] is not None for o in options)
    # one card each (inference): the limits below say so, no column repeats it
    several = any(o["count"] > 1 or o["strategy"] not in (None, "single") for o in options)
    headers = [t("recommend.col.rank"), t("recommend.col.card")]
    headers += [t("recommend.col.count"), t("recommend.col.strategy")] if several else []
    headers += [t("recommend.col.precision")] if precision else []
    headers += [t("recommend.col.gib")]
    headers += [t("recommend.col.time"), t("recommend.col.kwh")] if timed else []
    headers += [] if timed else [t("recommend.col.tokens_s")]
    headers += [t("recommend.col.cost", currency=cur)]
    headers += [t("recommend.col.rent", currency=cur)] if prices.rent else []
    rows: list[list[str]] = []
    held_back: list[tuple[int, str]] = []
    for o in options:
        need = o["required_per_gpu_bytes"]
        row = [str(o["rank"]), short_name(o["gpu"])]
        row += [str(o["count"]), o["strategy"] or "—"] if several else []
        row += [precision_cell(o)] if precision else []
        row += [f"{need / GIB:,.2f}" if need else "—"]
        row += [duration(o["time_s"]), num(o["energy_kwh"], 1)] if timed else []
        row += [] if timed else [num(o["tokens_per_s"], 0)]
        row += [prices.cost_cell(o)]
        row += [prices.rent_cell(o)] if prices.rent else []
        rows.append(row)
        if not o["ok"]:
            held_back.append((o["rank"], str(o["reason"] or "")))
    tbl = table(
        title=t(
            "recommend.title",
            model=m["name"],
            ok=doc["options_ok"],
            total=doc["options_total"],
            count=doc["cards_considered"],
        ),
    )
    add_columns(tbl, headers, rows, text=(1,))  # only a long card name folds
    if several:
        tbl.columns[3].justify = "left"  # the strategy: a word, not a figure
    for row, o in zip(rows, options, strict=True):
        tbl.add_row(*row, style="" if o["ok"] else "dim")
    lines = [
        t("recommend.caption.workload", what=workload_text(doc["workload"])),
        t("recommend.caption.limits", limits=_limits(doc)),
        t("recommend.caption.join").join(
            [
                t("recommend.caption.columns" if several else "recommend.caption.gib"),
                t("recommend.caption.time") if timed else t("recommend.caption.tokens_s"),
                t("recommend.caption.cost"),
            ]
        ),
        *precision_notes(options, "gpu"),
        *prices.caption(),
    ]
    if held_back:
        lines += [t("recommend.caption.held_back"), *_why_not(held_back)]
    lines += [t("recommend.caption.wrote", path=p) for p in doc.get("emitted", [])]
    a = doc.get("advice")
    if a and a["fits_as_asked"]:
        lines.append(
            t(
                "recommend.caption.advice_fits",
                card=a["card"],
                why=a["why"],
                need=gib(a["required_bytes"]),
                usable=gib(a["usable_bytes"]),
            )
        )
    # below the table, as wide as the terminal (a caption is only as wide as its table)
    out: list[Any] = [tbl, "\n".join(str(line) for line in lines)]
    if a and not a["fits_as_asked"]:
        out.append(advice_table(a))
    return out
