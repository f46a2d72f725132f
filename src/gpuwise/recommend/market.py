"""What cards cost on the market: street (new) and used prices, hourly rentals, and the rate
between the two currencies gpuwise prices in, each figure dated and sourced.

The shipped file is ``data/market_prices.json``; ``recommend --market FILE`` reads another of
the same layout instead (docs/catalog.md, "Prices")::

    {"date": "2026-12-02",
     "rate": {"cny_per_usd": 6.7686, "date": "2026-06-19", "source": "fx"},
     "sources": {"fx": {"title": "...", "url": "https://..."}, ...},
     "prices": [{"card": "rtx-3090", "kind": "used", "amount": 4000, "currency": "cny",
                 "date": "2026-01-01", "source": "...", "estimate": "midpoint of ..."}, ...]}

``kind`` is ``street`` (new, in shops), ``used`` or ``rental`` (per card-hour); ``date`` is
``YYYY``, ``YYYY-MM`` or ``YYYY-MM-DD``, when the source saw the price; ``estimate``, when
present, says how the amount was made from what the source prints (a midpoint of a range).
"""

from __future__ import annotations

import functools
import re

from gpuwise import files
from gpuwise.errors import GpuwiseError
from gpuwise.i18n import Message
from gpuwise.packaged import packaged_json
from gpuwise.recommend import CURRENCIES
from gpuwise.record import record, replace

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Callable
    from typing import Any

    from gpuwise.catalog import Catalog
    from gpuwise.i18n import Text

#: Kinds of market price: bought new, bought used, rented by the hour.
KINDS = ("street", "used", "rental")
#: A price (per card, or per card-hour) from a cent to a billion: any other is a typo, and a
#: subnormal or huge one would turn costs and tokens per dollar into infinities.
PRICE_RANGE = (0.01, 1e9)
#: Yuan a US dollar may buy: far outside any rate there has been, yet never zero or infinite.
RATE_RANGE = (0.01, 1000.0)
_DATE = re.compile(r"(\d{4})(?:-(\d{2})(?:-(\d{2}))?)?")  # fullmatch
_PRICE_KEYS = {"card", "kind", "amount", "currency", "date", "source", "note", "estimate"}
_TEXT_MAX = 300
_EXAMPLE = (
    '{"date": "2026-12-02", "rate": {"cny_per_usd": 7.1, "date": "2026-11-30", "source": "fx"}, '
    '"sources": {"fx": {"title": "...", "url": "https://..."}}, "prices": [{"card": "3090", '
    '"kind": "used", "amount": 4000, "currency": "cny", "date": "2026-11", "source": "fx"}]}'
)


@record
class Source:
    """Where a figure is from: a title (what it says, who says it) and a link."""

    title: Text
    url: str | None = None


@record
class Rate:
    """Yuan per US dollar, where it is from, and whether the user gave it (``--rate``)."""

    cny_per_usd: float
    source: Source
    date: str | None
    given: bool = False

    def convert(self, amount: float, from_currency: str, to_currency: str) -> float:
        """``amount`` in ``from_currency`` as ``to_currency``."""
        if from_currency == to_currency:
            return amount
        return amount * self.cny_per_usd if to_currency == "cny" else amount / self.cny_per_usd


@record
class MarketPrice:
    """One price of a card as its source gives it: ``kind`` (street, used, rental; launch or
    user for prices from elsewhere), ``amount`` in ``currency``, the ``date`` the source saw
    it, a ``note`` and, when the amount was worked out from what the source prints, the
    ``estimate`` rule."""

    kind: str
    amount: float
    currency: str
    date: str | None
    source: Source
    note: str | None = None
    estimate: str | None = None


@record
class Market:
    """The market file: its prices by card slug, the exchange rate, and where it was read."""

    by_card: dict[str, list[MarketPrice]]
    rate: Rate
    date: str
    today: str  # the day prices' ages count to
    path: str | None = None  # None: the file shipped with gpuwise


def load_market(path: str | None, catalog: Catalog, rate: float | None = None) -> Market:
    """The shipped market file, or the one at ``path`` (its cards named as ``catalog`` knows
    them); ``rate`` (yuan per dollar, ``--rate``) instead of the file's. Ages count to today;
    dates after it are refused."""
    import time

    today = time.strftime("%Y-%m-%d")
    if path is None:
        doc = packaged_json("gpuwise.recommend", "data/market_prices.json")
        market = check_market(doc, Message("prices.where.shipped"), _slug_only, today)
    else:
        where = Message("prices.where.market", path=path)
        expected = Message("prices.expect.market", example=_EXAMPLE)
        doc = files.read_json(path, where, expected, files.LIMITS["prices"])
        market = check_market(doc, where, lambda name: catalog.find(name).slug, today, path)
    if rate is None:
        return market
    source = Source(Message("prices.rate_given"))
    given = Rate(check_rate(rate, "--rate"), source, None, True)
    return replace(market, rate=given)


def _slug_only(name: str) -> str:
    return name


def check_market(
    doc: Any, where: Text, find: Callable[[str], str], today: str, path: str | None = None
) -> Market:
    """``doc`` as a :class:`Market`, or a one-line GpuwiseError naming what is wrong."""
    if not isinstance(doc, dict) or not isinstance(doc.get("prices"), list):
        raise GpuwiseError(Message("prices.market_needs_prices", where=where, example=_EXAMPLE))
    unknown = set(doc) - {"what", "date", "rate", "sources", "prices"}
    if unknown:
        key = shown(sorted(unknown)[0])
        raise GpuwiseError(Message("prices.market_unknown_key", where=where, key=key))
    sources = _sources(doc.get("sources"), where)
    date = check_date(doc.get("date"), Message("prices.where.date", where=where), today)
    rate = _rate(doc.get("rate"), sources, where, today)
    by_card: dict[str, list[MarketPrice]] = {}
    for i, entry in enumerate(doc["prices"]):
        at = Message("prices.where.price", where=where, number=i + 1)
        slug, price = _price(entry, at, sources, find, today)
        by_card.setdefault(slug, []).append(price)
    return Market(by_card, rate, date, today, path)


def _sources(value: Any, where: Text) -> dict[str, Source]:
    if not isinstance(value, dict):
        raise GpuwiseError(Message("prices.sources_not_object", where=where))
    out = {}
    for key, entry in value.items():
        ok = (
            isinstance(entry, dict)
            and not set(entry) - {"title", "url"}
            and is_text(entry.get("title"))
            and (entry.get("url") is None or is_text(entry.get("url")))
        )
        if not ok:
            raise GpuwiseError(Message("prices.bad_source", where=where, key=shown(key)))
        out[key] = Source(entry["title"], entry.get("url"))
    return out


def _rate(value: Any, sources: dict[str, Source], where: Text, today: str) -> Rate:
    if not isinstance(value, dict) or set(value) != {"cny_per_usd", "date", "source"}:
        raise GpuwiseError(Message("prices.bad_rate", where=where))
    cny = check_rate(value["cny_per_usd"], Message("prices.where.rate_value", where=where))
    source = _source(value["source"], sources, Message("prices.where.rate", where=where))
    date = check_date(value["date"], Message("prices.where.rate_date", where=where), today)
    return Rate(cny, source, date)


def _price(
    entry: Any,
    where: Text,
    sources: dict[str, Source],
    find: Callable[[str], str],
    today: str,
) -> tuple[str, MarketPrice]:
    """The slug of the card ``entry`` prices, and the price."""
    if not isinstance(entry, dict):
        raise GpuwiseError(Message("prices.price_not_object", where=where, like=_EXAMPLE[-104:-2]))
    unknown = set(entry) - _PRICE_KEYS
    missing = {"card", "kind", "amount", "currency", "date", "source"} - set(entry)
    if unknown or missing:
        what = (
            Message("prices.unknown_key", key=shown(sorted(unknown)[0]))
            if unknown
            else Message("prices.lacks", keys=", ".join(sorted(missing)))
        )
        keys = ", ".join(sorted(_PRICE_KEYS))
        raise GpuwiseError(Message("prices.price_keys", where=where, what=what, keys=keys))
    if not is_text(entry["card"]):
        raise GpuwiseError(Message("prices.price_card", where=where, got=shown(entry["card"])))
    if entry["kind"] not in KINDS:
        kind, kinds = shown(entry["kind"]), ", ".join(KINDS)
        raise GpuwiseError(Message("prices.price_kind", where=where, kind=kind, kinds=kinds))
    if entry["currency"] not in CURRENCIES:
        got = shown(entry["currency"])
        raise GpuwiseError(Message("prices.bad_currency", where=where, currency=got))
    for key in ("note", "estimate"):
        if entry.get(key) is not None and not is_text(entry[key]):
            got = shown(entry[key])
            raise GpuwiseError(Message("prices.not_text", where=where, field=key, got=got))
    source = _source(entry["source"], sources, where)
    try:
        slug = find(entry["card"])
    except GpuwiseError as e:
        raise GpuwiseError(
            Message("prices.in_entry", where=where, error=e.message), code=e.code
        ) from None
    amount = check_amount(
        entry["amount"], Message("prices.where.field", where=where, field="amount")
    )
    date = check_date(entry["date"], Message("prices.where.date", where=where), today)
    kind, currency, note = entry["kind"], entry["currency"], entry.get("note")
    return slug, MarketPrice(kind, amount, currency, date, source, note, entry.get("estimate"))


def _source(key: Any, sources: dict[str, Source], where: Text) -> Source:
    if not isinstance(key, str) or key not in sources:
        raise GpuwiseError(Message("prices.unknown_source", where=where, key=shown(key)))
    return sources[key]


def check_amount(value: Any, where: Text) -> float:
    """A price, per card or per card-hour: a number in :data:`PRICE_RANGE`."""
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise GpuwiseError(Message("prices.amount_not_number", where=where, got=shown(value)))
    low, high = PRICE_RANGE
    if not low <= value <= high:  # also NaN and infinities
        raise GpuwiseError(
            Message(
                "prices.amount_range",
                where=where,
                got=f"{value:g}",
                low=f"{low:g}",
                high=f"{high:g}",
            )
        )
    return float(value)


def check_rate(value: Any, where: Text) -> float:
    """Yuan per US dollar: a number in :data:`RATE_RANGE`."""
    low, high = RATE_RANGE
    ok = not isinstance(value, bool) and isinstance(value, (int, float)) and low <= value <= high
    if not ok:
        text = f"{value:g}" if isinstance(value, (int, float)) else shown(value)
        raise GpuwiseError(
            Message(
                "prices.bad_rate_value", where=where, got=text, low=f"{low:g}", high=f"{high:g}"
            )
        )
    return float(value)


def check_date(value: Any, where: Text, today: str) -> str:
    """``YYYY``, ``YYYY-MM`` or ``YYYY-MM-DD``, a real day, not after ``today``."""
    m = _DATE.fullmatch(value) if isinstance(value, str) else None
    if m is None or not _real(m):
        raise GpuwiseError(Message("prices.bad_date", where=where, got=shown(value)))
    if value > today:
        raise GpuwiseError(Message("prices.future_date", where=where, date=value, today=today))
    return value


def _real(m: re.Match[str]) -> bool:
    year, month, day = int(m[1]), int(m[2] or 1), int(m[3] or 1)
    if year < 1990 or not (1 <= month <= 12 and 1 <= day <= 31):
        return False
    if day <= 28:
        return True
    import datetime  # a day past the 28th only: is it in that month?

    try:
        datetime.date(year, month, day)
    except ValueError:
        return False
    return True


def age_days(date: str | None, today: str) -> int | None:
    """Whole days from ``date`` (a month or year counts from its first day) to ``today``."""
    if date is None or not _DATE.fullmatch(date):
        return None
    return _ordinal(today) - _ordinal(date)


@functools.lru_cache(maxsize=1024)
def _ordinal(date: str) -> int:
    """Days since a fixed day (the proleptic Gregorian ordinal, as ``date.toordinal``)."""
    parts = [int(p) for p in date.split("-")] + [1, 1]
    year, month, day = parts[0], parts[1], parts[2]
    y = year - 1
    before = (0, 31, 59, 90, 120, 151, 181, 212, 243, 273, 304, 334)[month - 1]
    leap = month > 2 and year % 4 == 0 and (year % 100 != 0 or year % 400 == 0)
    return y * 365 + y // 4 - y // 100 + y // 400 + before + leap + day


def is_text(value: Any, longest: int = _TEXT_MAX) -> bool:
    """A non-blank, printable string of at most ``longest`` characters (one table line)."""
    return (
        isinstance(value, str)
        and bool(value.strip())
        and len(value) <= longest
        and (value.isprintable())
    )


def shown(value: Any) -> str:
    """``value`` for an error line: its repr, cut to 40 characters."""
    text = repr(value)
    return text if len(text) <= 40 else text[:37] + "..."
