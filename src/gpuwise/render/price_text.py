"""The prices in ``gpuwise recommend``'s table, from its JSON document: each option's cost with
the number of the price it is made of, listed below the table (what kind of price, its source,
date and age, and the rate when it was converted) and, with ``--tokens``, renting versus
buying. Every word is the catalogue's, in the language in use."""

from __future__ import annotations

from gpuwise.i18n import t

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

#: Each kind of price as a word of the language in use.
_KINDS = {
    "user": "prices.kind.user",
    "street": "prices.kind.street",
    "used": "prices.kind.used",
    "launch": "prices.kind.launch",
    "rental": "prices.kind.rental",
}
#: Marks a price converted from the other currency.
CONVERTED = "≈"


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

    def ref(self, o: dict[str, Any]) -> str:
        """``[2]``: the number of the price the option's cost is made of (its line below the
        table); empty when it has none."""
        q = o.get("price")
        if q is None:
            return ""
        key = (q["kind"], q["converted"], q["source"], q["url"], q["date"], q.get("estimate"))
        if key not in self.refs:
            self.refs[key] = len(self.refs) + 1
            self.lines.append(_line(self.refs[key], q))
        self.converted = self.converted or q["converted"]
        return f"[{self.refs[key]}]"

    def cost_cell(self, o: dict[str, Any]) -> str:
        """``5,990 [1]``: the option's cost in the document's currency and the number of its
        price."""
        ref = self.ref(o)
        return f"{amount(o['cost'])} {ref}" if ref else amount(o["cost"])

    def rent_cell(self, o: dict[str, Any]) -> str:
        """What renting the option's cards for the run costs / the hours of use after which
        buying them costs less."""
        cost, hours = o.get("rent_cost"), o.get("break_even_hours")
        if cost is None or o.get("pricing") == "rent":  # the cost is the rent already
            return "—"
        even = f" / {hours:,.0f} h" if hours is not None else ""
        converted = CONVERTED if (o.get("rental") or {}).get("converted") else ""
        return f"{converted}{amount(cost)}{even}"

    def caption(self) -> list[str]:
        """The numbered prices shown, the rate when one was converted, and what the rent
        column means."""
        if not self.lines:
            return []
        out = [t("prices.caption.head"), *self.lines]
        rate = self.doc["prices"].get("rate")
        if self.converted and rate:
            where = (
                "--rate"
                if rate["given"]
                else t(
                    "prices.caption.rate_from",
                    source=rate["source"],
                    date=rate["date"],
                    age=age(rate["age_days"]),
                )
            )
            out.append(t("prices.caption.rate", rate=f"{rate['cny_per_usd']:g}", where=where))
        if self.rent:
            out.append(t("prices.caption.rent"))
        return out


def amount(value: float | None) -> str:
    """A sum of money for a cell (its currency in the column's header)."""
    if value is None:
        return "—"
    if value < 100:
        return f"{value:,.2f}"
    return f"{value:,.0f}"


def age(days: int | None) -> str:
    """``days`` as people say an age: "5 days old", "11 months old", "2.5 years old"."""
    if days is None:
        return t("prices.age.unknown")
    if days < 61:
        return t("prices.age.days", count=days)
    if days < 730:
        return t("prices.age.months", n=f"{days / 30.44:.0f}")
    return t("prices.age.years", n=f"{days / 365.25:.1f}")


def _line(n: int, q: dict[str, Any]) -> str:
    """``[2] used: <source> (2026-01-01, 11 months old); estimate: <rule>`` (the JSON has the
    URL)."""
    kind = t(_KINDS[q["kind"]]) if q["kind"] in _KINDS else q["kind"]
    kind += CONVERTED if q["converted"] else ""
    when = (
        t("prices.caption.when", date=q["date"], age=age(q["age_days"]))
        if q.get("date")
        else t("prices.caption.undated")
    )
    line = t("prices.caption.line", n=n, kind=kind, source=q["source"], when=when)
    if q.get("estimate"):
        line = t("prices.caption.estimate", line=line, rule=q["estimate"])
    return line
