"""Card names with their memory, as people write them (issue 12, part 6): '3090 24GB',
'L40S 48GB', '3060 8GB' (the 8 GB variant); a memory no variant has is one line naming the
variants."""

from __future__ import annotations

import json

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from gpuwise.catalog import load_catalog
from gpuwise.errors import GpuwiseError

from ..checks import one_line


@pytest.fixture(scope="module")
def catalog():
    return load_catalog()


@pytest.mark.parametrize(
    "typed,slug",
    [
        ("3090 24GB", "rtx-3090"),
        ("4090 24GB", "rtx-4090"),
        ("RTX 4090 24 GB", "rtx-4090"),
        ("4090-24G", "rtx-4090"),
        ("L40S 48GB", "l40s"),
        ("3070 8GB", "rtx-3070"),
        ("3060 8GB", "rtx-3060-8gb"),
        ("3060 12gb", "rtx-3060"),
        ("2080 Ti 22GB", "rtx-2080-ti-22gb-mod"),
        ("2080 Ti 11GB", "rtx-2080-ti"),
        ("4090 48GB", "rtx-4090-48gb-mod"),
        ("a800 40gb", "a800-pcie-40gb"),
    ],
)
def test_memory_picks_the_variant(catalog, typed, slug):
    assert catalog.find(typed).slug == slug


def test_memory_no_variant_has(catalog):
    with pytest.raises(GpuwiseError) as e:
        catalog.find("4090 12GB")
    message = str(e.value)
    assert "12 GB" in message
    assert "GeForce RTX 4090 (24 GB)" in message and "48 GB" in message
    assert e.value.code == "unknown_card"


def test_in_every_command(cli):
    r = cli("gpu", "3090 24GB", "--json")
    assert r.code == 0 and json.loads(r.out)["name"] == "GeForce RTX 3090"
    r = cli("plan", "llama-3.2-1b", "--gpu", "4090 24GB,3060 8GB", "--json")
    assert r.code == 0, r.err
    assert [c["name"] for c in json.loads(r.out)["cards"]] == [
        "GeForce RTX 4090",
        "GeForce RTX 3060 8 GB",
    ]
    r = cli("recommend", "llama-3.2-1b", "--gpu", "L40S 48GB", "--json")
    assert r.code == 0, r.err
    assert {o["gpu"] for o in json.loads(r.out)["options"]} == {"L40S"}
    one_line(cli("gpu", "4090 12GB"), "4090 12GB", "24 GB")
    one_line(cli("plan", "llama-3.2-1b", "--gpu", "4090 12GB"), "24 GB")


@settings(max_examples=60, deadline=None)
@given(data=st.data())
def test_any_card_with_its_own_memory_is_that_card(catalog, data):
    card = data.draw(st.sampled_from(catalog.cards))
    name = data.draw(st.sampled_from([card.name, card.slug, *card.aliases]))
    unit = data.draw(st.sampled_from(["GB", "gb", " GB", "G", " GiB"]))
    sep = data.draw(st.sampled_from([" ", "-", "  "]))
    typed = f"{name}{sep}{card.memory_gb:g}{unit}"
    assert catalog.find(typed).slug == card.slug


@settings(max_examples=60, deadline=None)
@given(data=st.data())
def test_any_other_memory_is_an_error_or_another_variant(catalog, data):
    """A memory that is not the card's names another variant of the model, or is refused;
    never the card itself."""
    card = data.draw(st.sampled_from([c for c in catalog.cards if "gb" not in c.slug]))
    memory = data.draw(st.integers(1, 512).filter(lambda m: abs(m - card.memory_gb) > 0.5))
    try:
        found = catalog.find(f"{card.name} {memory}GB")
    except GpuwiseError as e:
        assert "\n" not in str(e)
    else:
        assert found.slug != card.slug
        assert abs(found.memory_gb - memory) <= 0.5


@settings(max_examples=100, deadline=None)
@given(
    name=st.text(max_size=30),
    memory=st.one_of(st.integers(0, 10**6).map(str), st.from_regex(r"\d{1,6}\.\d{1,4}")),
    unit=st.sampled_from(["GB", "gb", "G", "GiB", " GB"]),
)
def test_any_name_with_a_memory_is_a_card_or_one_line(catalog, name, memory, unit):
    typed = f"{name} {memory}{unit}"
    try:
        card = catalog.find(typed)
    except GpuwiseError as e:
        # one line but for what was typed (the error line escapes its line breaks)
        assert "\n" not in str(e).replace(typed, "").replace(typed.strip(), "")
    else:
        assert card.slug
