"""The page's advice is the plan's per card (``card_advice``): one section for each card asked
for that does not fit, with the changes the command prints for it (the stacked one first), each
with the memory a card then needs and its speed; none when every card fits. In a real browser,
as tests/web/test_page.py (its fixtures)."""

from __future__ import annotations

import pytest

pytest.importorskip("starlette", reason="the web extra (starlette) is not installed")

from tests.web import test_page as _page_tests

# the page tests' fixtures: a server on a free port, Chromium, a page on it
server = _page_tests.server
browser = _page_tests.browser
page = _page_tests.page
_open = _page_tests._open

GIB = 1 << 30


def _sections(page) -> list[dict]:
    return page.eval_on_selector_all(
        "#advice section.card-advice",
        """ss => ss.map(s => ({card: s.dataset.card, title: s.querySelector('h3').textContent,
            items: [...s.querySelectorAll('li')].map(li => ({
                required: Number(li.dataset.required), text: li.textContent}))}))""",
    )


def _expected(advice: dict) -> list[dict]:
    stacked = [advice["stacked"]] if advice["stacked"] and advice["stacked"]["fits"] else []
    return [*stacked, *advice["fits_alone"]]


def test_each_card_that_does_not_fit_gets_its_advice(page, server, cli):
    query = "model=llama-3.1-8b&method=lora&seq=4096&gpu=3060&gpu=4060ti16&gpu=a100-80gb"
    _open(page, server, query)
    page.wait_for_selector("#advice section.card-advice")
    doc = cli("plan", "llama-3.1-8b", "--method", "lora", "--seq", "4096", "--gpu", "3060",
              "--gpu", "4060ti16", "--gpu", "a100-80gb", "--json").json()  # fmt: skip
    advised = [a for a in doc["card_advice"] if not a["fits_as_asked"] and _expected(a)]
    assert len(advised) == 2  # the A100 fits: no advice for it
    shown = _sections(page)
    assert [s["card"] for s in shown] == [a["card"] for a in advised]
    for s, a in zip(shown, advised, strict=True):
        assert a["card"] in s["title"]
        changes = _expected(a)
        assert [i["required"] for i in s["items"]] == [c["required_per_gpu_bytes"] for c in changes]
        for item, change in zip(s["items"], changes, strict=True):
            assert change["change"].replace("`", "") in item["text"]
            assert f"{change['required_per_gpu_bytes'] / GIB:.2f} GiB" in item["text"]
            if change["speed_vs_now"] is not None:
                assert f"{change['speed_vs_now']:.2f}x the speed" in item["text"]


def test_no_advice_when_every_card_fits(page, server):
    _open(page, server, "model=llama-3.2-1b&method=lora&gpu=4090&gpu=a100-80gb")
    page.wait_for_selector("#cards tbody tr")
    assert page.is_hidden("#advice")
    assert _sections(page) == []


def test_advice_in_chinese(page, server):
    _open(page, server, "model=llama-3.1-8b&method=qlora&seq=4096&gpu=4060ti16&lang=zh")
    page.wait_for_selector("#advice section.card-advice")
    shown = _sections(page)
    assert len(shown) == 1 and "要在" in shown[0]["title"]
    assert any("速度为原来的" in i["text"] for i in shown[0]["items"])
