"""The price columns of ``gpuwise recommend``'s table, from its JSON document: which price each
option's cost is made of (a numbered source below the table, with its date and age, and the
rate when it was converted) and, with ``--tokens``, renting versus buying."""

from __future__ import annotations

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any


class PriceText:
    """Cells and caption lines for the options of one recommend document."""

    def __init__(self, doc: dict[str, Any]) -> None:
        self.doc = doc
        self.refs: dict[tuple[Any, ...], int] = {}
        self.lines: list[str] = []
        self.converted = False
        self.rent = bool(doc.get("tokens")) and any(
            o.get("break_even_hours") is not None for o in doc["options"]
        )

    def cell(self, o: dict[str, Any]) -> str:
        """``used [2]``: the kind of price the option's cost is made of and the number of its
        source below the table; ``≈`` when it was converted from the other currency."""
        q = o.get("price")
        if q is None:
            return "—"
        key = (q["source"], q["url"], q["date"], q.get("estimate"))
        if key not in self.refs:
            self.refs[key] = len(self.refs) + 1
            self.lines.append(_line(self.refs[key], q))
        self.converted = self.converted or q["converted"]
        return f"{q['kind']}{'≈' if q['converted'] else ''} [{self.refs[key]}]"

    def rent_cell(self, o: dict[str, Any]) -> str:
        """What renting the option's cards for the run costs / the hours of use after which
        buying them costs less."""
        cost, hours = o.get("rent_cost"), o.get("break_even_hours")
        if cost is None or o.get("pricing") == "rent":  # the cost is the rent already
            return "—"
        even = f" / {hours:,.0f} h" if hours is not None else ""
        converted = "≈" if (o.get("rental") or {}).get("converted") else ""
        return f"{converted}{money(cost, o['currency'])}{even}"

    def caption(self) -> list[str]:
        """The numbered sources of the prices shown, the rate when one was converted, and what
        the rent column means."""
        out = [
            "Price: what the cost is made of (street = new, used, launch, rental, user = "
            "--prices) and its source:",
            *self.lines,
        ]
        rate = self.doc["prices"].get("rate")
        if self.converted and rate:
            where = (
                "--rate"
                if rate["given"]
                else f"{rate['source']}, {rate['date']}, {age(rate['age_days'])}; --rate sets "
                "another"
            )
            out.append(f"≈ converted at {rate['cny_per_usd']:g} CNY per USD ({where}).")
        if self.rent:
            out.append(
                "Rent / break-even: renting the same cards for this run, and the hours of use "
                "after which buying them costs less than renting them."
            )
        return out if self.lines else []


def money(value: float | None, currency: str) -> str:
    if value is None:
        return "—"
    if value < 100:
        return f"{value:,.2f} {currency.upper()}"
    return f"{value:,.0f} {currency.upper()}"


def age(days: int | None) -> str:
    """``days`` as people say an age: "5 days old", "11 months old", "2.5 years old"."""
    if days is None:
        return "age unknown"
    if days < 61:
        return f"{days} days old"
    if days < 730:
        return f"{days / 30.44:.0f} months old"
    return f"{days / 365.25:.1f} years old"


def _line(n: int, q: dict[str, Any]) -> str:
    """``[2] <source> (2026-01-01, 11 months old); estimate: <rule>`` (the JSON has the URL)."""
    when = f"{q['date']}, {age(q['age_days'])}" if q.get("date") else "undated"
    estimate = f"; estimate: {q['estimate']}" if q.get("estimate") else ""
    return f"[{n}] {q['source']} ({when}){estimate}"
