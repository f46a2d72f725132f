"""What a card costs, and where that figure is from: the user's own prices (``--prices FILE``),
else the market's (street, used, rental: :mod:`gpuwise.recommend.market`), else the
catalogue's launch price.

A price file is JSON::

    {"currency": "usd",
     "cards": {"rtx-3090": {"buy": 750, "note": "used, local market, 2026-11"},
               "h100-sxm-80gb": {"hourly": 2.49, "note": "cloud on-demand"}}}

Cards are named as anywhere else in gpuwise ("3090", "rtx 4090", a slug). ``buy`` is the price
of one card; ``hourly`` the rental price of one card per hour (when both are given, options are
priced as bought, and the rental gives the break-even hours). A card in the file is priced
from the file alone.

For every other card a buy price is the first of: a market street price, a market used price,
the launch price, in ``--currency`` (prices of the buyer's own market); else the same in the
other currency, converted at the rate the market file ships (``--rate`` to set another) and
marked as converted. An hourly price is the cheapest market rental, in ``--currency`` first.
A price file in the other currency is converted the same way.
"""

from __future__ import annotations

from gpuwise import files
from gpuwise.catalog import Card, Catalog
from gpuwise.errors import GpuwiseError
from gpuwise.i18n import Message
from gpuwise.recommend import CURRENCIES, currency_word
from gpuwise.recommend.market import (
    Market,
    MarketPrice,
    Rate,
    Source,
    age_days,
    check_amount,
    load_market,
    shown,
)
from gpuwise.record import field, record

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

    from gpuwise.i18n import Text

#: Where a price comes from, as options report it.
PRICE_KINDS = ("user", "street", "used", "launch", "rental")
_EXAMPLE = '{"currency": "usd", "cards": {"3090": {"buy": 750}}}'
#: Each kind of price as a word of the language in use.
KIND_WORDS = {
    "user": Message("prices.kind.user"),
    "street": Message("prices.kind.street"),
    "used": Message("prices.kind.used"),
    "launch": Message("prices.kind.launch"),
    "rental": Message("prices.kind.rental"),
}


@record
class Quote:
    """One price as used: ``seen`` (the price as its source gives it) in the book's
    ``currency``, converted at ``rate`` yuan per dollar when the two differ; ``age_days`` from
    the day the source saw it to the book's day."""

    seen: MarketPrice
    amount: float
    currency: str
    rate: float | None = None
    age_days: int | None = None

    @property
    def converted(self) -> bool:
        return self.rate is not None

    @property
    def label(self) -> Text:
        """One line: what, where from, when ("used, <title> (2026-01)")."""
        kind = KIND_WORDS.get(self.seen.kind, self.seen.kind)
        title, date = self.seen.source.title, self.seen.date
        if date:
            return Message("prices.label_dated", kind=kind, title=title, date=date)
        return Message("prices.label", kind=kind, title=title)


@record
class Price:
    """One card's price: ``buy`` per card and ``hourly`` per card-hour (either may be None), in
    the book's currency, with the quotes they come from."""

    buy: float | None
    hourly: float | None
    source: Text
    buy_quote: Quote | None = None
    hourly_quote: Quote | None = None


@record(frozen=False)
class PriceBook:
    currency: str
    user: dict[str, Price]  # card slug -> price from the user's file
    path: str | None = None
    market: Market | None = None
    cache: dict[str, Price | None] = field(default_factory=dict, compare=False)

    @property
    def rate(self) -> Rate | None:
        """Yuan per dollar that prices in the other currency are converted at."""
        return self.market.rate if self.market else None

    def price(self, card: Card) -> Price | None:
        """The user's price for ``card``; else the market's buy and rental prices, the launch
        price when the market has no buy price; None when there is none at all."""
        if card.slug in self.user:
            return self.user[card.slug]
        if card.slug not in self.cache:
            self.cache[card.slug] = self._resolve(card)
        return self.cache[card.slug]

    def _resolve(self, card: Card) -> Price | None:
        records = self.market.by_card.get(card.slug) if self.market else None
        if not records:  # most cards (every user card): the launch price alone
            buy = self._launch_quote(card, self.currency)
            buy = buy or self._launch_quote(card, _other(self.currency))
            return None if buy is None else Price(buy.amount, None, buy.label, buy)
        own = [r for r in records if r.currency == self.currency]
        other = [r for r in records if r.currency != self.currency]
        buy = None
        for group, launch_currency in ((own, self.currency), (other, _other(self.currency))):
            for kind in ("street", "used"):
                buy = buy or self._market_quote([r for r in group if r.kind == kind], newest=True)
            buy = buy or self._launch_quote(card, launch_currency)
        hourly = None
        for group in (own, other):
            hourly = hourly or self._market_quote(
                [r for r in group if r.kind == "rental"], newest=False
            )
        if buy is None and hourly is None:
            return None
        first = buy or hourly
        assert first is not None
        return Price(
            buy.amount if buy else None,
            hourly.amount if hourly else None,
            first.label,
            buy,
            hourly,
        )

    def _market_quote(self, records: list[MarketPrice], newest: bool) -> Quote | None:
        """Of ``records`` (one kind, one currency): the newest (then cheapest) for a buy price,
        the cheapest for a rental."""
        if not records:
            return None
        if newest:
            return self.quote(max(records, key=lambda r: (r.date or "", -r.amount)))
        return self.quote(min(records, key=lambda r: r.amount))

    def _launch_quote(self, card: Card, currency: str) -> Quote | None:
        amount = card.launch_price_usd if currency == "usd" else card.launch_price_cny
        if amount is None:
            return None
        src = card.sources.get(f"launch_price_{currency}") or {}
        title: Text = src.get("title") or (
            Message("prices.launch_catalogue")
            if card.origin == "catalogue"
            else Message("prices.launch_user", origin=card.origin)
        )
        source = Source(title, src.get("url"))
        return self.quote(MarketPrice("launch", float(amount), currency, card.launch_date, source))

    def quote(self, seen: MarketPrice) -> Quote:
        """``seen`` in the book's currency (converted at the book's rate when it is not)."""
        rate = None
        amount = seen.amount
        if seen.currency != self.currency:
            assert self.rate is not None
            rate = self.rate.cny_per_usd
            amount = self.rate.convert(amount, seen.currency, self.currency)
        age = age_days(seen.date, self.market.today) if self.market else None
        return Quote(seen, amount, self.currency, rate, age)


def load_prices(
    path: str | None, currency: str, catalog: Catalog, market: Market | None = None
) -> PriceBook:
    """The price book for ``currency``: the user's file (if any) over ``market`` (else the
    market file shipped, :func:`~gpuwise.recommend.market.load_market`) over launch
    prices."""
    currency = currency.lower()
    if currency not in CURRENCIES:
        raise GpuwiseError(Message("prices.unknown_currency", currency=repr(currency)))
    market = market or load_market(None, catalog)
    book = PriceBook(currency, {}, path, market)
    if path is not None:
        book.user = _user_prices(path, book, catalog)
    return book


def _user_prices(path: str, book: PriceBook, catalog: Catalog) -> dict[str, Price]:
    where: Text = Message("prices.where.file", path=path)
    expected = Message("prices.expect.file", example=_EXAMPLE)
    data = files.read_json(path, where, expected, files.LIMITS["prices"])
    if not isinstance(data, dict) or not isinstance(data.get("cards"), dict):
        raise GpuwiseError(Message("prices.file_needs_cards", where=where, example=_EXAMPLE))
    file_currency = data.get("currency", "usd")
    if not isinstance(file_currency, str) or file_currency.lower() not in CURRENCIES:
        got = shown(file_currency)
        raise GpuwiseError(Message("prices.bad_currency", where=where, currency=got))
    file_currency = file_currency.lower()
    user: dict[str, Price] = {}
    for name, entry in data["cards"].items():
        where = Message("prices.where.card", path=path, card=shown(name))
        if not isinstance(entry, dict):
            raise GpuwiseError(Message("prices.card_not_object", where=where))
        unknown = set(entry) - {"buy", "hourly", "note"}
        if unknown:
            key = shown(sorted(unknown)[0])
            raise GpuwiseError(Message("prices.card_unknown_key", where=where, key=key))
        buy = _amount(entry.get("buy"), Message("prices.where.field", where=where, field="buy"))
        hourly = _amount(
            entry.get("hourly"), Message("prices.where.field", where=where, field="hourly")
        )
        if buy is None and hourly is None:
            raise GpuwiseError(Message("prices.card_no_amount", where=where))
        card = catalog.find(str(name))
        if card.slug in user:
            raise GpuwiseError(
                Message("prices.card_twice", path=path, card=card.name, name=shown(name))
            )
        note = entry.get("note")
        if note is not None and not (isinstance(note, str) and note.isprintable()):
            got = shown(note)
            raise GpuwiseError(Message("prices.not_text", where=where, field="note", got=got))
        if note is not None and len(note) > 200:
            raise GpuwiseError(Message("prices.note_too_long", where=where, length=len(note)))
        user[card.slug] = _user_price(book, path, file_currency, buy, hourly, note)
    return user


def _user_price(
    book: PriceBook,
    path: str,
    currency: str,
    buy: float | None,
    hourly: float | None,
    note: str | None,
) -> Price:
    source = Source(Message("prices.where.file", path=path))
    quotes = [
        None if v is None else book.quote(MarketPrice("user", v, currency, None, source, note))
        for v in (buy, hourly)
    ]
    text: Text = Message("prices.user_noted", path=path, note=note) if note else path
    if currency != book.currency:
        assert book.rate is not None
        rate = f"{book.rate.cny_per_usd:g}"
        text = Message(
            "prices.user_converted", source=text, currency=currency_word(currency), rate=rate
        )
    return Price(
        quotes[0].amount if quotes[0] else None,
        quotes[1].amount if quotes[1] else None,
        text,
        quotes[0],
        quotes[1],
    )


def _amount(value: Any, where: Text) -> float | None:
    if value is None:
        return None
    return check_amount(value, where)


def _other(currency: str) -> str:
    return next(c for c in CURRENCIES if c != currency)
