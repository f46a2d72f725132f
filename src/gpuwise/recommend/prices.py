"""What a card costs: the catalogue's launch price, or the user's own prices (street, used,
hourly rental) from a price file.

A price file is JSON::

    {"currency": "usd",
     "cards": {"rtx-3090": {"buy": 750, "note": "used, local market, 2026-11"},
               "h100-sxm-80gb": {"hourly": 2.49, "note": "cloud on-demand"}}}

Cards are named as anywhere else in gpuwise ("3090", "rtx 4090", a slug). ``buy`` is the price
of one card; ``hourly`` the rental price of one card per hour (when both are given, options are
priced as bought). The file's currency is the one
``--currency`` must name. A card with no price in the file falls back to the catalogue's launch
price in that currency (``launch_price_usd`` / ``launch_price_cny``); no conversion between
currencies is ever made.
"""

from __future__ import annotations

from gpuwise import files
from gpuwise.catalog import Card, Catalog
from gpuwise.errors import GpuwiseError
from gpuwise.recommend import CURRENCIES
from gpuwise.record import record

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any


@record
class Price:
    """One card's price: ``buy`` per card or ``hourly`` per card-hour, and where it is from."""

    buy: float | None
    hourly: float | None
    source: str


@record
class PriceBook:
    currency: str
    user: dict[str, Price]  # card slug -> price from the user's file
    path: str | None = None

    def price(self, card: Card) -> Price | None:
        """The user's price for ``card``, else its launch price, else None."""
        if card.slug in self.user:
            return self.user[card.slug]
        launch = card.launch_price_usd if self.currency == "usd" else card.launch_price_cny
        if launch is None:
            return None
        return Price(float(launch), None, "catalogue launch price")


#: A price (per card, or per card-hour) from a cent to a billion: any other is a typo, and a
#: subnormal or huge one would turn costs and tokens per dollar into infinities.
PRICE_RANGE = (0.01, 1e9)
_EXAMPLE = '{"currency": "usd", "cards": {"3090": {"buy": 750}}}'


def _amount(value: Any, where: str) -> float | None:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise GpuwiseError(f"{where} is {_shown(value)}; use a positive number (or leave it out)")
    low, high = PRICE_RANGE
    if not low <= value <= high:  # also NaN and infinities
        raise GpuwiseError(f"{where} is {value:g}; a price must be from {low:g} to {high:g}")
    return float(value)


def _shown(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 40 else text[:37] + "..."


def load_prices(path: str | None, currency: str, catalog: Catalog) -> PriceBook:
    """The price book for ``currency``: the user's file (if any) over the catalogue."""
    currency = currency.lower()
    if currency not in CURRENCIES:
        raise GpuwiseError(f"--currency {currency!r} is not known; use usd or cny")
    if path is None:
        return PriceBook(currency, {})
    where = f"price file {path}"
    data = files.read_json(
        path, where, f"a JSON price file like {_EXAMPLE}", files.LIMITS["prices"]
    )
    if not isinstance(data, dict) or not isinstance(data.get("cards"), dict):
        raise GpuwiseError(f'{where} needs a "cards" object: {_EXAMPLE}')
    file_currency = data.get("currency", "usd")
    if not isinstance(file_currency, str) or file_currency.lower() not in CURRENCIES:
        raise GpuwiseError(f"{where}: currency {_shown(file_currency)} is not usd or cny")
    file_currency = file_currency.lower()
    if file_currency != currency:
        raise GpuwiseError(
            f"price file {path} is in {file_currency}, --currency is {currency}: gpuwise does "
            f"not convert; pass --currency {file_currency} (and a budget in it)"
        )
    user: dict[str, Price] = {}
    for name, entry in data["cards"].items():
        where = f"price file {path}, card {_shown(name)}"
        if not isinstance(entry, dict):
            raise GpuwiseError(f'{where}: expected an object like {{"buy": 750}}')
        unknown = set(entry) - {"buy", "hourly", "note"}
        if unknown:
            raise GpuwiseError(
                f"{where}: unknown key {_shown(sorted(unknown)[0])}; keys: buy, hourly, note"
            )
        buy = _amount(entry.get("buy"), f"{where} buy")
        hourly = _amount(entry.get("hourly"), f"{where} hourly")
        if buy is None and hourly is None:
            raise GpuwiseError(f"{where}: give buy (per card) or hourly (per card-hour)")
        card = catalog.find(str(name))
        if card.slug in user:
            raise GpuwiseError(
                f"price file {path} prices {card.name} twice ({_shown(name)} is another name for a "
                "card already listed); keep one entry"
            )
        note = entry.get("note")
        if note is not None and not (isinstance(note, str) and note.isprintable()):
            raise GpuwiseError(f"{where}: note must be one line of text, got {_shown(note)}")
        if note is not None and len(note) > 200:
            raise GpuwiseError(f"{where}: note is {len(note)} characters long; at most 200")
        source = f"{path}" + (f" ({note})" if note else "")
        user[card.slug] = Price(buy, hourly, source)
    return PriceBook(currency, user, path)
