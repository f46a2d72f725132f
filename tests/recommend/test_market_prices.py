"""Prices a reader with a CNY (or USD) budget can rely on: every option says which price its
cost is made of (launch, street, used, rental, user file), where from, how old; a price in the
other currency is converted at a stated rate, never dropped; buying is weighed against renting.

Issue 13, part 2.
"""

from __future__ import annotations

import json
import math

import pytest
from hypothesis import given
from hypothesis import strategies as st

from gpuwise.catalog import load_catalog
from gpuwise.packaged import packaged_path

from ..checks import finite_document, fixture_ok, json_values, one_line

with open(packaged_path("gpuwise.recommend", "data/market_prices.json"), encoding="utf-8") as f:
    MARKET = json.load(f)
RATE = MARKET["rate"]["cny_per_usd"]
SCENARIO = ("recommend", "qwen2.5-14b", "--method", "qlora", "--budget", "15000")
SCENARIO += ("--currency", "cny", "--json")


def _market_record(slug: str, kind: str, currency: str) -> dict:
    (found,) = [
        p
        for p in MARKET["prices"]
        if p["card"] == slug and p["kind"] == kind and p["currency"] == currency
    ]
    return found


def _first(doc: dict, slug: str) -> dict:
    return next(o for o in doc["options"] if o["slug"] == slug)


def test_a_cny_budget_lists_the_3090_used_the_4090_d_and_the_4060_ti_priced_and_sourced(cli):
    doc = cli(*SCENARIO, "--top", "0").json()
    for slug, kind in (("rtx-3090", "used"), ("rtx-4090-d", "street"), ("rtx-4060-ti-16gb", None)):
        o = _first(doc, slug)
        price = o["price"]
        assert o["cost"] is not None and o["currency"] == "cny", slug
        assert price["source"] and price["date"] and price["age_days"] >= 0, slug
        assert kind is None or price["kind"] == kind, (slug, price["kind"])
    used = _first(doc, "rtx-3090")["price"]
    record = _market_record("rtx-3090", "used", "cny")
    assert (used["amount"], used["converted"], used["date"]) == (4000, False, record["date"])
    assert used["estimate"]  # a midpoint of a range is labelled as such


def test_unpriced_data_centre_cards_no_longer_fill_the_top_of_the_table(cli):
    options = cli(*SCENARIO).json()["options"]
    assert len(options) == 20
    assert all(o["cost"] is not None for o in options), [o["gpu"] for o in options if not o["cost"]]


def test_the_table_names_each_price_its_source_and_date(cli):
    r = cli(*SCENARIO[:-1], "--gpu", "3090,4090d,4060 ti 16gb", "--max-gpus", "1")
    assert r.code == 0, r.err
    text = " ".join(r.out.split())  # the caption wraps
    assert "used" in text and "street" in text and "launch≈" in text
    assert "yongjin360.com" in text and "(2026-01-01," in text and "months old" in text
    assert f"converted at {RATE:g} CNY per USD" in text


def test_a_usd_price_is_converted_at_the_stated_rate_never_dropped(cli):
    doc = cli("recommend", "gpt2", "--currency", "cny", "--json", "--top", "0").json()
    catalog = load_catalog()
    rate = doc["prices"]["rate"]
    assert rate["cny_per_usd"] == RATE and rate["source"] and rate["date"] and not rate["given"]
    for o in doc["options"]:
        card = catalog.find(o["slug"])
        if card.launch_price_usd is not None or card.launch_price_cny is not None:
            assert o["cost"] is not None, f"{o['gpu']} has a launch price but no cost"
        p = o["price"]
        if p and p["converted"]:
            assert p["original_currency"] == "usd" and p["rate"] == RATE
            assert p["amount"] == pytest.approx(p["original_amount"] * RATE)
        if p and p["kind"] == "launch" and card.launch_price_cny is not None:
            assert not p["converted"] and p["amount"] == card.launch_price_cny


def test_rate_sets_the_conversion_and_is_shown(cli):
    doc = cli(
        "recommend", "gpt2", "--gpu", "4060 ti 16gb", "--max-gpus", "1", "--currency", "cny",
        "--rate", "7.25", "--json",
    ).json()  # fmt: skip
    (o,) = doc["options"]
    assert doc["prices"]["rate"]["given"] and doc["prices"]["rate"]["cny_per_usd"] == 7.25
    assert o["price"]["converted"] and o["price"]["rate"] == 7.25
    assert o["cost"] == pytest.approx(499 * 7.25)  # its USD MSRP (NVIDIA newsroom)


def test_a_price_file_in_the_other_currency_is_converted(cli, tmp_path):
    path = tmp_path / "prices.json"
    path.write_text(json.dumps({"currency": "cny", "cards": {"3090": {"buy": 5000}}}))
    doc = cli(
        "recommend", "gpt2", "--gpu", "3090", "--max-gpus", "1", "--prices", str(path),
        "--rate", "6.25", "--json",
    ).json()  # fmt: skip
    (o,) = doc["options"]
    assert o["price"]["kind"] == "user" and o["price"]["converted"]
    assert o["cost"] == pytest.approx(800) and o["cost_usd"] == pytest.approx(800)
    assert "converted" in o["price_source"]


def test_a_price_file_overrides_market_and_launch_prices(cli, tmp_path):
    path = tmp_path / "prices.json"
    path.write_text(json.dumps({"currency": "cny", "cards": {"3090": {"buy": 3333}}}))
    args = ("recommend", "gpt2", "--gpu", "3090", "--max-gpus", "1", "--currency", "cny")
    (o,) = cli(*args, "--prices", str(path), "--json").json()["options"]
    assert o["cost"] == 3333 and o["price"]["kind"] == "user" and o["rental"] is None


def test_buying_against_renting_gives_the_break_even_hours(cli, tmp_path):
    path = tmp_path / "prices.json"
    prices = {"4090": {"buy": 1800, "hourly": 0.5}}
    path.write_text(json.dumps({"currency": "usd", "cards": prices}))
    args = ("recommend", "gpt2", "--gpu", "4090", "--max-gpus", "2", "--tokens", "200M")
    doc = cli(*args, "--prices", str(path), "--json").json()
    for o in doc["options"]:
        assert o["pricing"] == "buy" and o["cost"] == 1800 * o["count"]
        assert o["break_even_hours"] == pytest.approx(1800 / 0.5)
        assert o["rent_cost"] == pytest.approx(0.5 * o["count"] * o["time_s"] / 3600)
    table = cli(*args, "--prices", str(path))
    text = " ".join(table.out.split())
    assert "break-even" in text and "3,600" in text


def test_the_market_rental_weighs_against_the_launch_price(cli):
    rental = min(
        p["amount"] for p in MARKET["prices"] if p["card"] == "rtx-4090" and p["kind"] == "rental"
    )
    args = ("recommend", "gpt2", "--gpu", "4090", "--max-gpus", "1", "--tokens", "100M")
    (o,) = cli(*args, "--json").json()["options"]
    assert o["price"]["kind"] == "launch" and o["cost"] == 1599
    assert o["rental"]["kind"] == "rental" and o["rental"]["amount"] == rental
    assert o["break_even_hours"] == pytest.approx(1599 / rental)


def test_a_card_rented_only_is_priced_for_the_run(cli):
    args = ("recommend", "gpt2", "--gpu", "h100-sxm-80gb", "--max-gpus", "1", "--tokens", "1B")
    (o,) = cli(*args, "--json").json()["options"]
    hourly = o["price"]["amount"]
    assert o["pricing"] == "rent" and o["price"]["unit"] == "card-hour"
    assert o["cost"] == pytest.approx(hourly * o["time_s"] / 3600)
    assert o["break_even_hours"] is None


def test_options_without_a_price_come_after_every_priced_one(cli):
    options = cli(*SCENARIO, "--top", "0").json()["options"]
    held = [o for o in options if not o["ok"]]
    priced = [o["cost"] is not None for o in held]
    assert priced == sorted(priced, reverse=True)
    assert any(priced) and not all(priced)


def test_the_shipped_market_file_names_real_cards_sources_and_dates():
    slugs = {c.slug for c in load_catalog()}
    for p in MARKET["prices"]:
        assert p["card"] in slugs, p
        source = MARKET["sources"][p["source"]]
        assert source["title"] and source["url"].startswith("http"), p
        assert p["date"] <= MARKET["date"], p
    kinds = {p["kind"] for p in MARKET["prices"]}
    assert kinds == {"street", "used", "rental"}
    assert {p["currency"] for p in MARKET["prices"] if p["kind"] == "rental"} == {"usd", "cny"}


def test_modified_cards_are_priced(cli):
    for name in ("2080 ti 22g", "4090 48gb", "4090d 48gb"):
        (o,) = cli("recommend", "gpt2", "--gpu", name, "--max-gpus", "1", "--currency", "cny",
                   "--json").json()["options"]  # fmt: skip
        assert o["price"]["kind"] in ("used", "street") and not o["price"]["converted"], name


# -- bad input: one line, exit 2 ------------------------------------------------------------

GOOD_PRICE = {"card": "3090", "kind": "used", "amount": 4000, "currency": "cny"}
GOOD_PRICE |= {"date": "2026-01", "source": "s"}
GOOD_MARKET = {
    "date": "2026-11-30",
    "rate": {"cny_per_usd": 7.0, "date": "2026-11-30", "source": "s"},
    "sources": {"s": {"title": "a shop", "url": "https://example.com"}},
    "prices": [GOOD_PRICE],
}
RUN = ("recommend", "gpt2", "--gpu", "3090", "--max-gpus", "1", "--currency", "cny", "--json")


def _market(tmp_path, doc) -> str:
    path = tmp_path / "market.json"
    path.write_text(doc if isinstance(doc, str) else json.dumps(doc))
    return str(path)


def test_a_market_file_replaces_the_shipped_one(cli, tmp_path):
    doc = cli(*RUN, "--market", _market(tmp_path, GOOD_MARKET)).json()
    (o,) = doc["options"]
    assert o["cost"] == 4000 and o["price"]["source"] == "a shop"
    assert doc["prices"]["rate"]["cny_per_usd"] == 7.0


def _with(price=None, **top):
    doc = json.loads(json.dumps(GOOD_MARKET))
    doc.update(top)
    if price is not None:
        doc["prices"] = [{**GOOD_PRICE, **price}]
    return doc


@pytest.mark.parametrize(
    ("doc", "says"),
    [
        ("not json", "not valid JSON"),
        ([], '"prices" list'),
        (_with(price={"date": "2999-01-01"}), "after today"),
        (_with(price={"date": "2026-02-30"}), "YYYY-MM-DD"),
        (_with(price={"date": "26-01"}), "YYYY-MM-DD"),
        (_with(price={"card": "voodoo 5"}), "unknown card"),
        (_with(price={"kind": "new"}), "street, used, rental"),
        (_with(price={"currency": "eur"}), "not usd or cny"),
        (_with(price={"amount": 0}), "from 0.01"),
        (_with(price={"amount": "4000"}), "positive number"),
        (_with(price={"source": "nowhere"}), "not a key"),
        (_with(price={"shop": "x"}), "unknown key"),
        (_with(price={"note": "a\nb"}), "one line"),
        (_with(rate={"cny_per_usd": 0, "date": "2026-11-30", "source": "s"}), "yuan one US dollar"),
        (_with(rate={"cny_per_usd": 7}), '"rate" must be'),
        (_with(sources={"s": {"title": ""}}), "source 's'"),
        (_with(extra=1), "unknown key"),
    ],
)
def test_a_malformed_market_file_is_one_line(cli, tmp_path, doc, says):
    one_line(cli(*RUN, "--market", _market(tmp_path, doc)), says)


def test_a_missing_market_file_is_one_line(cli, tmp_path):
    one_line(cli(*RUN, "--market", str(tmp_path / "none.json")), "market file")


@fixture_ok
@given(
    field=st.sampled_from(["card", "kind", "amount", "currency", "date", "source", "note"]),
    value=json_values,
    top=st.sampled_from(["date", "rate", "sources", "prices", None]),
    top_value=json_values,
)
def test_any_malformed_market_file_is_refused_in_one_line_or_used(
    cli, tmp_path, field, value, top, top_value
):
    doc = _with(price={field: value})
    if top is not None:
        doc[top] = top_value
    r = cli(*RUN, "--market", _market(tmp_path, doc))
    if r.code == 0:
        (o,) = finite_document(r.out)["options"]
        assert o["cost"] is None or 0 < o["cost"] < math.inf
    else:
        one_line(r, "market file")


rates = (
    st.floats(allow_nan=True, allow_infinity=True)
    | st.sampled_from([0.0, -7.0, 0.0099, 0.01, 1000.0, 1000.5, 5e-324, 1e308])
    | st.text(max_size=8)
)


@fixture_ok
@given(rate=rates)
def test_any_rate_converts_exactly_or_is_one_line(cli, rate):
    args = ("recommend", "gpt2", "--gpu", "4060 ti 16gb", "--max-gpus", "1", "--currency", "cny")
    r = cli(*args, f"--rate={rate}", "--json")
    try:
        value = float(rate)
    except ValueError:
        value = None
    if value is not None and 0.01 <= value <= 1000:
        assert r.code == 0, r.err
        (o,) = finite_document(r.out)["options"]
        assert o["price"]["rate"] == value and o["cost"] == pytest.approx(499 * value)
    else:
        one_line(r, "--rate")
