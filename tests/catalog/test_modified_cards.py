"""Modified cards people really buy (a 22 GB RTX 2080 Ti, 48 GB RTX 4090 and 4090 D) are
catalogued, marked as modified, and are their base card in every figure but the memory added.

Issue 13, part 2.
"""

from __future__ import annotations

import pytest

from gpuwise.catalog import Card, load_catalog, usable_memory
from gpuwise.plan import make_plan
from gpuwise.record import fields
from gpuwise.workload import Workload

MODIFIED = {
    "rtx-2080-ti-22gb-mod": ("rtx-2080-ti", 22),
    "rtx-4090-48gb-mod": ("rtx-4090", 48),
    "rtx-4090-d-48gb-mod": ("rtx-4090-d", 48),
}
#: What a modification changes, or what belongs to the card as NVIDIA sold it.
OWN = {
    "slug", "name", "aliases", "memory_gb", "pytorch_total_memory_mib", "launch_price_usd",
    "launch_price_cny", "launch_date", "notes", "modified", "modified_from", "sources",
}  # fmt: skip


@pytest.fixture(scope="module")
def catalog():
    return load_catalog()


@pytest.mark.parametrize(("slug", "base_and_memory"), sorted(MODIFIED.items()))
def test_a_modified_card_is_its_base_card_with_more_memory(catalog, slug, base_and_memory):
    base_slug, memory_gb = base_and_memory
    card, base = catalog.find(slug), catalog.find(base_slug)
    assert card.modified and card.modified_from == base_slug and not base.modified
    assert card.memory_gb == memory_gb > base.memory_gb
    same = [name for name in fields(Card) if name not in OWN]
    assert {"bandwidth_gb_s", "fp32_tflops", "bf16_tensor_tflops", "tdp_w"} <= set(same)
    for name in same:
        assert getattr(card, name) == getattr(base, name), name
    assert card.sources["bandwidth_gb_s"] == base.sources["bandwidth_gb_s"]
    assert "modified" in card.name and "not an NVIDIA product" in (card.notes or "")
    assert usable_memory(card).bytes > usable_memory(base).bytes


def test_every_modified_card_in_the_catalogue_names_a_real_base(catalog):
    modified = {c.slug: c.modified_from for c in catalog if c.modified}
    assert set(modified) == set(MODIFIED)
    assert {m: MODIFIED[m][0] for m in modified} == modified


def test_the_48_gb_4090_fits_what_the_24_gb_card_cannot(catalog):
    from gpuwise.models import load_model

    spec = load_model("qwen2.5-14b")
    cards = [catalog.find("4090"), catalog.find("4090 48gb")]
    plan = make_plan(spec, Workload(method="qlora"), cards)
    assert [c.fits for c in plan.cards] == [False, True]


def test_gpu_json_says_modified(cli):
    doc = cli("gpu", "2080ti 22g", "--json").json()
    assert doc["modified"] is True and doc["modified_from"] == "rtx-2080-ti"
    assert cli("gpu", "2080ti", "--json").json()["modified"] is False


@pytest.mark.parametrize("value", ["yes", 1, 0])
def test_a_user_card_marked_modified_must_say_true_or_false(cli, tmp_path, value):
    import json

    path = tmp_path / "cards.json"
    path.write_text(json.dumps({"cards": [{"slug": "rtx-3090", "modified": value}]}))
    r = cli("gpu", "3090", "--catalog", str(path))
    assert r.code == 2 and "true or false" in r.err and r.err.count("\n") == 1, r.err
