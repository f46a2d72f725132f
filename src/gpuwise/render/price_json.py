"""Prices in ``gpuwise recommend --json``: which price each option's cost is made of, where it
is from, how old it is and whether it was converted; the exchange rate; buy versus rent."""

from __future__ import annotations

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

    from gpuwise.recommend.options import Option
    from gpuwise.recommend.prices import PriceBook, Quote


def quote_dict(q: Quote | None, unit: str = "card") -> dict[str, Any] | None:
    """One price: ``kind`` (user, street, used, launch, rental), ``amount`` per ``unit`` (card
    or card-hour) in ``currency``, ``converted`` from ``original_amount`` in
    ``original_currency`` at ``rate`` yuan per dollar, its ``source`` and ``url``, the
    ``date`` the source saw it and its ``age_days``, a ``note`` and, when the amount was
    worked out from what the source prints, the ``estimate`` rule."""
    if q is None:
        return None
    seen = q.seen
    return {
        "kind": seen.kind,
        "amount": q.amount,
        "unit": unit,
        "currency": q.currency,
        "converted": q.converted,
        "original_amount": seen.amount,
        "original_currency": seen.currency,
        "rate": q.rate,
        "source": seen.source.title,
        "url": seen.source.url,
        "date": seen.date,
        "age_days": q.age_days,
        "note": seen.note,
        "estimate": seen.estimate,
    }


def option_price_keys(o: Option) -> dict[str, Any]:
    """An option's ``price`` (what its cost is made of), ``rental`` (the hourly price, when
    there is one), ``rent_cost`` (renting the cards for the run, with --tokens) and
    ``break_even_hours`` (hours of use after which buying costs less than renting)."""
    return {
        "price": quote_dict(o.price, "card-hour" if o.pricing == "rent" else "card"),
        "rental": quote_dict(o.rental, "card-hour"),
        "rent_cost": o.rent_cost,
        "break_even_hours": o.break_even_hours,
    }


def prices_dict(book: PriceBook) -> dict[str, Any]:
    """Where prices come from: ``currency``, the user's ``file``, the ``market`` file (its path,
    null for the one shipped, and date), the ``rate`` (yuan per dollar, its source, date, age,
    and whether --rate gave it) and ``today`` (the day ages count to)."""
    from gpuwise.recommend.market import age_days

    rate = book.rate
    market = book.market
    today = market.today if market else ""
    return {
        "currency": book.currency,
        "file": book.path,
        "market": None if market is None else {"file": market.path, "date": market.date},
        "rate": None
        if rate is None
        else {
            "cny_per_usd": rate.cny_per_usd,
            "given": rate.given,
            "source": rate.source.title,
            "url": rate.source.url,
            "date": rate.date,
            "age_days": age_days(rate.date, today) if today else None,
        },
        "today": today or None,
    }
