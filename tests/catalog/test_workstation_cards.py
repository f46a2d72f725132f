"""The workstation segment (issue 13, part 3): what the code that reads a card's segment and
series makes of the RTX workstation cards, and what the China-market and older data-centre
cards bring to plans."""

from __future__ import annotations

import json
import math

import pytest

from gpuwise.catalog import load_catalog
from gpuwise.timing.parallel import card_link


@pytest.fixture(scope="module")
def catalog():
    return load_catalog()


def workstation(catalog):
    cards = [c for c in catalog if c.segment == "workstation"]
    assert cards, "no workstation cards in the catalogue"
    return cards


def test_workstation_cards_are_one_series_the_filter_finds(catalog, cli):
    cards = workstation(catalog)
    assert {c.series for c in cards} == {"RTX workstation"}
    doc = json.loads(cli("gpus", "--series", "workstation", "--json").out)
    assert {c["slug"] for c in doc["cards"]} == {c.slug for c in cards}


def test_workstation_cards_talk_peer_to_peer_over_pcie(catalog):
    """Their drivers allow PCIe peer-to-peer, which GeForce drivers do not: more than two
    cards (past any NVLink bridge) ring over PCIe P2P, not through host memory."""
    for card in workstation(catalog):
        link = card_link(card, 4)
        assert link.kind == "pcie-p2p", (card.name, link)
        assert "host memory" not in str(link.note)
    # the same Ada chip on GeForce goes through host memory, at a lower rate
    ada, geforce = catalog.find("rtx 6000 ada"), catalog.find("4090")
    assert card_link(geforce, 4).kind == "pcie-host"
    assert card_link(ada, 4).gb_s > card_link(geforce, 4).gb_s


def test_rtx_a_series_nvlink_bridge_joins_two_cards(catalog):
    a6000 = catalog.find("a6000")
    assert "nvlink" in a6000.features
    assert card_link(a6000, 2).kind == "nvlink"
    assert card_link(a6000, 4).kind == "pcie-p2p"  # a bridge joins two cards only
    for name in ("rtx 6000 ada", "rtx pro 6000", "a4000"):
        card = catalog.find(name)
        assert "nvlink" not in card.features and card_link(card, 2).kind == "pcie-p2p"


@pytest.mark.parametrize(
    "name,has,lacks",
    [
        ("rtx 6000", {"tensor_cores", "bnb_int8_matmul"}, {"bf16", "tf32", "fp8"}),
        ("a6000", {"tensor_cores", "bf16", "tf32", "flash_attention_2"}, {"fp8"}),
        ("rtx 6000 ada", {"bf16", "fp8", "flash_attention_2"}, {"flash_attention_3"}),
        ("rtx pro 6000", {"bf16", "fp8"}, {"flash_attention_3", "nvlink"}),
        ("h20", {"fp8", "flash_attention_3", "nvlink"}, set()),
        ("h800", {"fp8", "flash_attention_3", "nvlink"}, set()),
        ("p40", {"bnb_4bit"}, {"tensor_cores", "bf16", "torch_compile"}),
        ("p100 sxm2", {"nvlink"}, {"tensor_cores", "bf16"}),
    ],
)
def test_features_of_the_new_cards(catalog, name, has, lacks):
    card = catalog.find(name)
    assert has <= set(card.features), card.features
    assert not lacks & set(card.features), card.features


def test_professional_cards_run_fp32_accumulate_at_the_full_rate(catalog):
    """Workstation and data-centre cards of an architecture with a GeForce sibling: the FP16
    tensor rate (FP32 accumulate) is 4x FP32 on Ampere, 4x on Ada, where GeForce gets 2x."""
    checked = 0
    for card in catalog:
        if card.segment not in ("workstation", "datacenter") or card.fp16_tensor_tflops is None:
            continue
        if card.architecture in ("Ampere", "Ada Lovelace") and card.chip in {
            "GA102",
            "GA104",
            "AD102",
            "AD104",
        }:
            ratio = card.fp16_tensor_tflops / card.fp32_tflops
            # NVIDIA's own figures put the L40 (graphics-first) and the export-capped L20
            # at 2x; every other one runs the full 4x
            expected = 2.0 if card.slug in ("l40", "l20") else 4.0
            assert ratio == pytest.approx(expected, rel=0.03), (card.name, ratio)
            checked += 1
    assert checked >= 8


def test_h800_and_a800_are_h100_and_a100_with_a_slower_nvlink(catalog):
    for china, base in (
        ("h800-sxm-80gb", "h100-sxm-80gb"),
        ("h800-pcie-80gb", "h100-pcie-80gb"),
        ("a800-sxm-80gb", "a100-sxm-80gb"),
        ("a800-pcie-80gb", "a100-pcie-80gb"),
        ("a800-pcie-40gb", "a100-pcie-40gb"),
    ):
        c, b = catalog.find(china), catalog.find(base)
        for field in ("memory_gb", "bandwidth_gb_s", "bf16_tensor_tflops", "fp32_tflops"):
            assert getattr(c, field) == getattr(b, field), (china, field)
        assert c.nvlink_gb_s == 400 and b.nvlink_gb_s > 400
        assert card_link(c, 8).gb_s <= card_link(b, 8).gb_s


@pytest.mark.parametrize("gpu", ["5090d", "5090 d v2"])
def test_rtx_5090_d_plans_have_a_time(cli, gpu):
    """NVIDIA publishes only AI TOPS for them; the derived rates let plans time them."""
    r = cli("plan", "gpt2", "--gpu", gpu, "--no-search", "--json")
    assert r.code == 0, r.err
    [card] = json.loads(r.out)["cards"]
    tokens = card["time"]["train_tokens_per_s"]
    assert tokens is not None and math.isfinite(tokens) and tokens > 0


def test_rtx_5090_d_rates_follow_the_stated_rule(catalog):
    """The 5090's dense rates times 2375 / 3352 AI TOPS, as the card's notes say."""
    full, d = catalog.find("5090"), catalog.find("5090d")
    ratio = 2375 / 3352
    for field in ("fp16_tensor_tflops", "bf16_tensor_tflops", "fp8_tensor_tflops"):
        assert getattr(d, field) == pytest.approx(getattr(full, field) * ratio, rel=0.005)
    assert "2375 / 3352" in (d.notes or "")
