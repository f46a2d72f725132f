"""Card names as users type them for the cards Chinese clouds rent and workstations hold (issue
13, part 3): a model's own name beats a longer model number or a longer model name that begins
with it ('h20' is the H20, never the H200; 'l2' is no card, not the L20), and a name that fits
several variants of one model is an error that lists them ('a800')."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from gpuwise.catalog import load_catalog
from gpuwise.catalog.card import Card
from gpuwise.catalog.names import NameIndex
from gpuwise.errors import GpuwiseError

from ..checks import one_line


@pytest.fixture(scope="module")
def catalog():
    return load_catalog()


@pytest.mark.parametrize(
    "typed,slug",
    [
        ("NVIDIA GeForce RTX 3090", "rtx-3090"),
        ("rtx-3090", "rtx-3090"),
        ("RTX 4060 Ti 16GB", "rtx-4060-ti-16gb"),
        ("rtx 4060 ti 16 gb", "rtx-4060-ti-16gb"),
        ("H20", "h20-sxm-96gb"),
        ("nvidia h20", "h20-sxm-96gb"),
        ("h200", "h200-sxm-141gb"),
        ("l20", "l20"),
        ("L40", "l40"),
        ("l40s", "l40s"),
        ("p40", "p40"),
        ("Tesla P40", "p40"),
        ("a6000", "rtx-a6000"),
        ("NVIDIA RTX A6000", "rtx-a6000"),
        # "RTX 6000" is the Turing Quadro RTX 6000's own name; the Ada card says "Ada"
        ("rtx 6000", "quadro-rtx-6000"),
        ("Quadro RTX 6000", "quadro-rtx-6000"),
        ("rtx 6000 ada", "rtx-6000-ada"),
        ("NVIDIA RTX 6000 Ada Generation", "rtx-6000-ada"),
        ("rtx pro 6000", "rtx-pro-6000-blackwell"),
        ("rtx pro 6000 server", "rtx-pro-6000-blackwell-server"),
        ("h800", "h800-sxm-80gb"),
        ("h800 pcie", "h800-pcie-80gb"),
        ("a800 80gb", "a800-sxm-80gb"),
        ("a800 pcie 40gb", "a800-pcie-40gb"),
        ("v100s", "v100s-pcie-32gb"),
        ("rtx 4000 ada", "rtx-4000-ada"),
        ("a40", "a40"),
        ("a4000", "rtx-a4000"),
        # modified cards are named only with their memory (issue 13, part 2)
        ("2080ti 22g", "rtx-2080-ti-22gb-mod"),
        ("2080 ti 22gb", "rtx-2080-ti-22gb-mod"),
        ("2080 ti", "rtx-2080-ti"),
        ("4090 48gb", "rtx-4090-48gb-mod"),
        ("4090", "rtx-4090"),
        ("4090d 48g", "rtx-4090-d-48gb-mod"),
        ("4090d", "rtx-4090-d"),
    ],
)
def test_cards_are_found_by_the_names_people_type(catalog, typed, slug):
    assert catalog.find(typed).slug == slug


@pytest.mark.parametrize(
    "typed,names",
    [
        ("a800", {"A800 PCIe 40 GB", "A800 PCIe 80 GB", "A800 SXM4 80 GB"}),
        ("p100", {"Tesla P100 PCIe 12 GB", "Tesla P100 PCIe 16 GB", "Tesla P100 SXM2 16 GB"}),
    ],
)
def test_a_model_with_variants_is_ambiguous_and_lists_exactly_them(catalog, typed, names):
    with pytest.raises(GpuwiseError, match="ambiguous") as e:
        catalog.find(typed)
    listed = str(e.value).split("matches ", 1)[1].split(";")[0].split(", ")
    assert set(listed) == names


@pytest.mark.parametrize("typed", ["l2", "h2", "a80", "h80", "p4", "rtx 4000", "rtx 5000"])
def test_a_shorter_or_other_model_number_is_not_taken_for_a_catalogued_one(catalog, typed):
    """'l2' (NVIDIA's L2) is not the L20, 'rtx 4000' (a Turing Quadro) not the RTX 4000 Ada."""
    with pytest.raises(GpuwiseError) as e:
        catalog.find(typed)
    assert e.value.code == "unknown_card" and "closest" in str(e.value)


def test_cli_gpu_h20_is_the_h20(cli):
    r = cli("gpu", "H20", "--json")
    assert r.code == 0, r.err
    assert '"slug": "h20-sxm-96gb"' in r.out


def test_cli_gpu_a800_is_one_line_listing_the_variants(cli):
    one_line(cli("gpu", "a800"), "ambiguous", "A800 PCIe 40 GB", "A800 SXM4 80 GB")


# -- the rule, on cards made up for the test (no aliases to lean on) -----------------------------


def _card(name: str) -> Card:
    slug = "-".join(name.lower().split())
    return Card(
        slug=slug,
        name=name,
        series="Test",
        segment="datacenter",
        architecture="Hopper",
        compute_capability="9.0",
        memory_gb=80,
        bandwidth_gb_s=1000,
        fp32_tflops=50,
        tdp_w=400,
    )


letters = st.sampled_from(["h", "l", "a", "p", "b", "x", "rtx a"])
numbers = st.integers(1, 999)
memories = st.integers(1, 256)


def test_an_exact_model_name_beats_a_longer_model_number():
    """The H20 and the H200 without any alias: 'h20' is the H20."""
    index = NameIndex([_card("H200 SXM 141 GB"), _card("H20 96 GB")])
    assert index.find("h20").name == "H20 96 GB"
    assert index.find("H200").name == "H200 SXM 141 GB"


@given(letters, numbers, st.integers(0, 9), memories, memories)
def test_a_model_number_is_never_extended(prefix, number, digit, mem, mem2):
    short = _card(f"{prefix.upper()}{number} {mem} GB")
    long = _card(f"{prefix.upper()}{number}{digit} SXM {mem2} GB")
    typed = f"{prefix}{number}"
    assert NameIndex([long, short]).find(typed) is short
    with pytest.raises(GpuwiseError) as e:
        NameIndex([long]).find(typed)
    assert e.value.code == "unknown_card"


@given(letters, numbers, memories, st.sampled_from(["S", "Ti", "Ada", "D", "SUPER"]))
def test_a_model_word_makes_another_card(prefix, number, mem, word):
    """'L40' is not the 'L40S', 'RTX 4000' not the 'RTX 4000 Ada'."""
    other = _card(f"{prefix.upper()}{number} {word} {mem} GB")
    typed = f"{prefix}{number}"
    assert NameIndex([other, _card(f"{prefix.upper()}{number}")]).find(typed).name == (
        f"{prefix.upper()}{number}"
    )
    with pytest.raises(GpuwiseError) as e:
        NameIndex([other]).find(typed)
    assert e.value.code == "unknown_card"


@given(letters, numbers, st.lists(memories, min_size=2, max_size=4, unique=True))
def test_memory_and_form_factor_variants_are_ambiguous_until_named(prefix, number, mems):
    cards = [_card(f"{prefix.upper()}{number} PCIe {m} GB") for m in mems]
    index = NameIndex(cards)
    with pytest.raises(GpuwiseError, match="ambiguous") as e:
        index.find(f"{prefix}{number}")
    assert all(c.name in str(e.value) for c in cards)
    assert cards
    for card in cards:
        typed = f"{prefix}{number} pcie {mems[cards.index(card)]}gb"
        assert index.find(typed) is card
