"""``gpuwise recommend`` for people: the ranked options as one table that fits a 100-column
terminal, what is the same on every row said once below it (the limits, the precision, the
prices' sources), why each held-back option is held back listed by its rank, and the advice
when nothing fits. Read from the document ``--json`` prints; every word is the catalogue's
(:func:`gpuwise.i18n.t`), in the language in use."""

from __future__ import annotations

from gpuwise.i18n import t
from gpuwise.recommend import currency_word
from gpuwise.render.card_tables import short_name
from gpuwise.render.price_text import PriceText, amount
from gpuwise.render.table_kit import add_columns, table
from gpuwise.units import GIB, gib, num

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

    from rich.table import Table

#: Each objective as a word of the language in use.
_OBJECTIVES = {
    "cost-to-finish": "recommend.objective.cost_to_finish",
    "cheapest": "recommend.objective.cheapest",
    "fastest": "recommend.objective.fastest",
    "tokens-per-dollar": "recommend.objective.tokens_per_dollar",
}
#: How many times faster another option shown must be for the table to say that the first is
#: slower (it comes first for its cost).
SEVERAL_TIMES = 2.0
#: ... among those whose cards cost at most this many times the first's.
SIMILAR_COST = 1.5
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


def objective_limits(doc: dict[str, Any]) -> list[str]:
    """What every recommend ranked by and was held to: the objective, the budget and the power
    limit where given (each engine's table adds its own limits after these)."""
    c = doc["constraints"]
    cur = str(currency_word(c["currency"]))
    objective = doc["objective"]
    said = t(_OBJECTIVES[objective]) if objective in _OBJECTIVES else objective
    limits = [t("recommend.limit.objective", objective=said)]
    if c["budget"] is not None:
        limits.append(t("recommend.limit.budget", budget=f"{c['budget']:,.0f}", currency=cur))
    if c["max_power_w"] is not None:
        limits.append(t("recommend.limit.power", watts=f"{c['max_power_w']:g}"))
    return limits


def ranked_table(
    doc: dict[str, Any],
    headers: list[str],
    rows: list[list[str]],
    left: tuple[int, ...] = (),
) -> Table:
    """recommend's ranked options: the title with its counts, the columns sized to the rows
    (only a long card name folds; ``left``: columns of words, not figures), the options held
    back dimmed."""
    tbl = table(
        title=t(
            "recommend.title",
            model=doc["model"]["name"],
            ok=doc["options_ok"],
            total=doc["options_total"],
            count=doc["cards_considered"],
        ),
    )
    add_columns(tbl, headers, rows, text=(1,))
    for i in left:
        tbl.columns[i].justify = "left"
    for row, o in zip(rows, doc["options"], strict=True):
        tbl.add_row(*row, style="" if o["ok"] else "dim")
    return tbl


def _limits(doc: dict[str, Any]) -> str:
    """The constraints every option was held to, one line."""
    c, w = doc["constraints"], doc["workload"]
    limits = objective_limits(doc)
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


def advice_fits_lines(a: dict[str, Any] | None) -> list[str]:
    """The line under a recommend table when the card asked about (``--have``) fits as
    asked: which card, why it was looked at, what it needs of what it has."""
    if not (a and a["fits_as_asked"]):
        return []
    need, usable = gib(a["required_bytes"]), gib(a["usable_bytes"])
    return [
        t("recommend.caption.advice_fits", card=a["card"], why=a["why"], need=need, usable=usable)
    ]


def recommend_tables(doc: dict[str, Any]) -> list[Any]:
    """``gpuwise recommend``: the ranked options, then the advice when nothing fits."""
    from gpuwise.render.plan_tables import advice_table
    from gpuwise.render.precision_text import precision_cell, precision_notes, workload_text

    options = doc["options"]
    cur = str(currency_word(doc["constraints"]["currency"]))
    prices = PriceText(doc)
    # what is the same on every row goes below the table, not in a column
    # the default objective's figure: what finishing the job costs (per million tokens
    # without --tokens), the column the options are ranked by; it takes the place of the
    # precision column (the notes below name each card's precision all the same)
    finish = doc["objective"] == "cost-to-finish"
    per_mtok = doc["tokens"] is None
    precision = not finish and len({precision_cell(o) for o in options}) > 1
    # with --tokens, the run's time and energy say what tokens/s would (the JSON has both)
    timed = any(o["time_s"] is not None or o["energy_kwh"] is not None for o in options)
    # one card each (inference): the limits below say so, no column repeats it
    several = any(o["count"] > 1 or o["strategy"] not in (None, "single") for o in options)
    headers = [t("recommend.col.rank"), t("recommend.col.card")]
    headers += [t("recommend.col.count"), t("recommend.col.strategy")] if several else []
    headers += [t("recommend.col.precision")] if precision else []
    headers += [t("recommend.col.gib")]
    # the cost to finish takes the place of the energy (in the JSON, energy_kwh)
    kwh = timed and not finish
    headers += [t("recommend.col.time")] if timed else []
    headers += [t("recommend.col.kwh")] if kwh else []
    headers += [] if timed else [t("recommend.col.tokens_s")]
    headers += [t("recommend.col.cost", currency=cur)]
    if finish:
        headers += [
            t("recommend.col.per_mtok" if per_mtok else "recommend.col.finish", currency=cur)
        ]
    headers += [t("recommend.col.rent", currency=cur)] if prices.rent else []
    rows: list[list[str]] = []
    held_back: list[tuple[int, str]] = []
    for o in options:
        need = o["required_per_gpu_bytes"]
        row = [str(o["rank"]), _marked(short_name(o["gpu"]), o)]
        row += [str(o["count"]), o["strategy"] or "—"] if several else []
        row += [precision_cell(o)] if precision else []
        row += [f"{need / GIB:,.2f}" if need else "—"]
        row += [duration(o["time_s"])] if timed else []
        row += [num(o["energy_kwh"], 1)] if kwh else []
        row += [] if timed else [num(o["tokens_per_s"], 0)]
        row += [prices.cost_cell(o)]
        if finish:
            row += [_money(o.get("cost_per_million_tokens" if per_mtok else "cost_to_finish"))]
        row += [prices.rent_cell(o)] if prices.rent else []
        rows.append(row)
        if not o["ok"]:
            held_back.append((o["rank"], str(o["reason"] or "")))
    tbl = ranked_table(doc, headers, rows, left=(3,) if several else ())  # 3: the strategy
    lines = [
        t("recommend.caption.workload", what=workload_text(doc["workload"])),
        *[str(n) for n in doc.get("framework", {}).get("notes", [])],  # --framework
        t("recommend.caption.limits", limits=_limits(doc)),
        t("recommend.caption.join").join(
            [
                t("recommend.caption.columns" if several else "recommend.caption.gib"),
                t("recommend.caption.time" if kwh else "recommend.caption.time_only")
                if timed
                else t("recommend.caption.tokens_s"),
                t("recommend.caption.cost"),
            ]
        ),
        *_finish_lines(doc, finish, per_mtok),
        *precision_notes(options, "gpu"),
        *prices.caption(),
    ]
    if held_back:
        lines += [t("recommend.caption.held_back"), *_why_not(held_back)]
    lines += [t("recommend.caption.wrote", path=p) for p in doc.get("emitted", [])]
    a = doc.get("advice")
    lines += advice_fits_lines(a)
    # below the table, as wide as the terminal (a caption is only as wide as its table)
    out: list[Any] = [tbl, "\n".join(str(line) for line in lines)]
    if a and not a["fits_as_asked"]:
        out.append(advice_table(a))
    return out


def _marked(name: str, o: dict[str, Any]) -> str:
    """A card's name, marked when the option adds gradient checkpointing to the job."""
    if "grad_checkpointing" in o.get("changes", []):
        return t("recommend.mark.ckpt", strategy=name)
    return name


def _money(value: float | None) -> str:
    """A cost in a cell: three significant figures below 1 (a million tokens may cost cents)."""
    if value is not None and 0 < value < 1:
        return f"{value:.3g}"
    return amount(value)


def _finish_lines(doc: dict[str, Any], finish: bool, per_mtok: bool) -> list[str]:
    """What the cost to finish assumes, what † marks, and, when the option ranked first is
    several times slower than another shown, that it is (it comes first to save money)."""
    options = doc["options"]
    lines = []
    if finish:
        hours = f"{doc['cost_basis']['service_hours']:,.0f}"
        lines.append(
            t("recommend.caption.per_mtok" if per_mtok else "recommend.caption.finish", hours=hours)
        )
    if any("grad_checkpointing" in o.get("changes", []) for o in options):
        lines.append(t("recommend.caption.ckpt"))
    usable = [o for o in options if o["ok"] and o["tokens_per_s"]]
    if usable:
        first = usable[0]
        # the fastest shown for about as much money (more cards cost more: not the point)
        alike = [o for o in usable if (o["cost"] or 0) <= SIMILAR_COST * (first["cost"] or 0)]
        fastest = max(alike, key=lambda o: o["tokens_per_s"])
        times = fastest["tokens_per_s"] / first["tokens_per_s"]
        if times >= SEVERAL_TIMES:
            lines.append(
                t(
                    "recommend.caption.slower",
                    rank=first["rank"],
                    faster=fastest["rank"],
                    times=f"{times:.1f}",
                    fast=num(fastest["tokens_per_s"], 0),
                    slow=num(first["tokens_per_s"], 0),
                )
            )
    return lines
