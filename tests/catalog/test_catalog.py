"""The catalogue as users rely on it: every card they ask for, forgiving names, features,
the usable-memory figure, and their own card file."""

from __future__ import annotations

import json

import pytest

from gpuwise.catalog import load_catalog, usable_memory
from gpuwise.errors import GpuwiseError
from gpuwise.units import MIB


@pytest.fixture(scope="module")
def catalog():
    return load_catalog()


# The cards issue #2 names, as a user would type them, with the memory that identifies the variant.
WANTED = [
    ("1050", 2),
    ("1050 ti", 4),
    ("1060 3gb", 3),
    ("1060 6gb", 6),
    ("1070", 8),
    ("1070 ti", 8),
    ("1080", 8),
    ("1080 ti", 11),
    ("titan xp", 12),
    ("1650", 4),
    ("1660 super", 6),
    ("1660 ti", 6),
    ("2060", 6),
    ("2060 12gb", 12),
    ("2060 super", 8),
    ("2070 super", 8),
    ("2080 super", 8),
    ("2080 ti", 11),
    ("titan rtx", 24),
    ("3050 6gb", 6),
    ("3050 8gb", 8),
    ("3060 8gb", 8),
    ("3060 12gb", 12),
    ("3060 ti", 8),
    ("3070 ti", 8),
    ("3080 10gb", 10),
    ("3080 12gb", 12),
    ("3080 ti", 12),
    ("3090", 24),
    ("3090 ti", 24),
    ("4060", 8),
    ("4060 ti 8gb", 8),
    ("4060 ti 16gb", 16),
    ("4070 super", 12),
    ("4070 ti super", 16),
    ("4080 super", 16),
    ("4090", 24),
    ("4090d", 24),
    ("5060 ti 8gb", 8),
    ("5060 ti 16gb", 16),
    ("5070", 12),
    ("5080", 16),
    ("5090", 32),
    ("5090 d", 32),
    ("5090 d v2", 24),
    ("v100 sxm2 16gb", 16),
    ("v100 sxm2 32gb", 32),
    ("t4", 16),
    ("a10", 24),
    ("l4", 24),
    ("l40s", 48),
    ("a100 40gb", 40),
    ("a100 80gb", 80),
    ("h100 pcie", 80),
    ("h100 sxm", 80),
    ("h200", 141),
]


@pytest.mark.parametrize("name,memory_gb", WANTED)
def test_every_wanted_card_is_found(catalog, name, memory_gb):
    assert catalog.find(name).memory_gb == memory_gb


def test_ambiguous_name_lists_the_candidates(catalog):
    with pytest.raises(GpuwiseError) as e:
        catalog.find("4060 ti")
    assert "ambiguous" in str(e.value) and "16 GB" in str(e.value) and "8 GB" in str(e.value)


def test_unknown_name_lists_closest(catalog):
    with pytest.raises(GpuwiseError) as e:
        catalog.find("rtx 4095")
    assert "closest" in str(e.value) and "4090" in str(e.value)


def test_no_alias_names_two_cards(catalog):
    from gpuwise.catalog.names import NameIndex

    index = NameIndex(catalog.cards)
    shared = {k: [c.slug for c in cs] for k, cs in index.exact.items() if len(cs) > 1}
    assert not shared


def test_slugs_are_unique():
    from gpuwise.catalog.load import packaged_files

    slugs = [c["slug"] for _, text in packaged_files() for c in json.loads(text)["cards"]]
    assert len(slugs) == len(set(slugs))


@pytest.mark.parametrize(
    "name,has,lacks",
    [
        (
            "1080 ti",
            {"bnb_4bit", "bnb_8bit_optimizers"},
            {"tensor_cores", "bf16", "torch_compile", "flash_attention_2", "bnb_int8_matmul"},
        ),
        ("1660 ti", {"torch_compile", "bnb_4bit"}, {"tensor_cores", "bf16", "bnb_int8_matmul"}),
        ("2080 ti", {"tensor_cores", "torch_compile", "nvlink"}, {"bf16", "flash_attention_2"}),
        ("3090", {"bf16", "tf32", "flash_attention_2", "nvlink"}, {"fp8", "flash_attention_3"}),
        ("4090", {"fp8", "flash_attention_2"}, {"nvlink", "flash_attention_3"}),
        ("5090 d", {"tensor_cores", "bf16", "fp8"}, {"flash_attention_3"}),
        ("h100 sxm", {"fp8", "flash_attention_3", "nvlink"}, set()),
        ("v100 sxm2 16gb", {"tensor_cores", "torch_compile"}, {"bf16", "tf32"}),
    ],
)
def test_features(catalog, name, has, lacks):
    card = catalog.find(name)
    assert has <= set(card.features), card.features
    assert not lacks & set(card.features), card.features


def test_geforce_tensor_rates_are_fp32_accumulate(catalog):
    """GeForce runs FP16 with FP32 accumulate at half the FP16-accumulate rate, so the
    catalogued FP16 tensor rate is close to 2x FP32 on Ampere (3090: 71 vs 35.6), not 4x."""
    ampere = [
        c
        for c in catalog
        if c.segment == "geforce" and c.architecture == "Ampere" and c.fp16_tensor_tflops
    ]
    assert ampere
    for card in ampere:
        assert 1.8 < card.fp16_tensor_tflops / card.fp32_tflops < 2.2, card.name


def test_pascal_geforce_fp16_is_one_64th(catalog):
    pascal = [c for c in catalog if c.compute_capability == "6.1" and c.fp16_nontensor_tflops]
    assert pascal
    for card in pascal:
        assert card.fp16_nontensor_tflops == pytest.approx(card.fp32_tflops / 64, rel=0.02)


def test_usable_memory_measured_and_estimated(catalog):
    measured = usable_memory(catalog.find("3090"))
    assert measured.measured and measured.bytes == 24268 * MIB
    for card in catalog:
        u = usable_memory(card)
        assert 0 < u.bytes < card.memory_bytes, card.name
        assert u.measured == (card.pytorch_total_memory_mib is not None)


def test_estimate_never_overstates_a_measured_card(catalog):
    from gpuwise.record import replace

    measured = [
        c
        for c in catalog
        if c.pytorch_total_memory_mib and c.slug not in ("l40s", "l4", "a10", "t4")
    ]
    assert measured
    for card in measured:
        estimate = usable_memory(replace(card, pytorch_total_memory_mib=None))
        assert estimate.bytes <= card.pytorch_total_memory_mib * MIB, card.name


# -- the user's own card file ---------------------------------------------------------------------


def write(tmp_path, doc) -> str:
    path = tmp_path / "cards.json"
    path.write_text(json.dumps(doc))
    return str(path)


def test_user_file_adds_a_modded_card_and_overrides_a_price(tmp_path):
    path = write(
        tmp_path,
        {
            "cards": [
                {
                    "slug": "rtx-3080-20gb",
                    "name": "RTX 3080 20 GB (modded)",
                    "aliases": ["3080 20gb"],
                    "compute_capability": "8.6",
                    "memory_gb": 20,
                    "bandwidth_gb_s": 760,
                    "fp32_tflops": 29.8,
                    "tdp_w": 320,
                },
                {"slug": "rtx-3090", "launch_price_usd": 700},
            ]
        },
    )
    catalog = load_catalog(path)
    modded = catalog.find("3080 20gb")
    assert modded.memory_gb == 20 and "tensor_cores" in modded.features
    assert modded.origin == path
    card = catalog.find("3090")
    assert card.launch_price_usd == 700
    assert str(card.sources["launch_price_usd"]["title"]).startswith("user file")
    # untouched fields stay the catalogue's
    assert card.bandwidth_gb_s == load_catalog().find("3090").bandwidth_gb_s


def test_user_file_from_environment(tmp_path, monkeypatch):
    path = write(tmp_path, {"cards": [{"slug": "rtx-3090", "launch_price_usd": 650}]})
    monkeypatch.setenv("GPUWISE_CATALOG", path)
    assert load_catalog().find("3090").launch_price_usd == 650


@pytest.mark.parametrize(
    "doc,says",
    [
        ({"cards": [{"slug": "x", "name": "X"}]}, "must give"),
        ({"cards": [{"slug": "rtx-3090", "memory_gb": -24}]}, "positive"),
        ({"cards": [{"slug": "rtx-3090", "memory_gb": "24"}]}, "a number"),
        ({"cards": [{"slug": "rtx-3090", "compute_capability": "eight"}]}, "compute capability"),
        ({"cards": [{"slug": "rtx-3090", "colour": "green"}]}, "unknown field"),
        ({"cards": "all of them"}, "'cards' list"),
        ([1, 2], "'cards' list"),
    ],
)
def test_bad_user_file_is_one_clear_error(tmp_path, doc, says):
    with pytest.raises(GpuwiseError) as e:
        load_catalog(write(tmp_path, doc))
    assert says in str(e.value) and "\n" not in str(e.value)


def test_missing_user_file_is_an_error(tmp_path):
    with pytest.raises(GpuwiseError, match="no such file"):
        load_catalog(str(tmp_path / "nope.json"))


def test_a_cuda_device_is_found_by_its_name_and_memory():
    """torch names only the model ("NVIDIA GeForce RTX 3060"); the memory it reports picks the
    variant, and a model suffix (Ti, D) is never taken for a memory variant."""
    from gpuwise.catalog import load_catalog

    cat = load_catalog()
    gib = 1 << 30
    assert cat.for_device("NVIDIA GeForce RTX 3060", 12 * gib).name == "GeForce RTX 3060"
    assert cat.for_device("NVIDIA GeForce RTX 3060", int(7.8 * gib)).name == "GeForce RTX 3060 8 GB"
    assert (
        cat.for_device("NVIDIA GeForce RTX 3060 Ti", int(7.8 * gib)).name == "GeForce RTX 3060 Ti"
    )
    assert cat.for_device("NVIDIA GeForce RTX 3080", int(11.8 * gib)).name.endswith("12 GB")
    assert cat.for_device("NVIDIA GeForce RTX 4090", int(23.6 * gib)).name == "GeForce RTX 4090"
    assert cat.for_device("NVIDIA GeForce RTX 4090 D", int(23.6 * gib)).name.endswith("4090 D")
    assert cat.for_device("NVIDIA H200", int(139.8 * gib)).slug == "h200-sxm-141gb"
    assert cat.for_device("Voodoo 5 6000", 64 << 20) is None
