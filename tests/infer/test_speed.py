"""llama.cpp's speed against published measurements: the rows are sourced and on catalogued
cards, the fitted constants are the ones the rows give, and decode is within 30 % on at least
80 % of the rows (the held-out ones counted apart)."""

from __future__ import annotations

import importlib.util
import json
from pathlib import Path

import pytest

from gpuwise.catalog import load_catalog
from gpuwise.infer.speed import constants, quant_kind

ROOT = Path(__file__).resolve().parents[2]
BENCH = json.loads((ROOT / "src/gpuwise/infer/data/llamabench.json").read_text())


def _script():
    spec = importlib.util.spec_from_file_location("acc", ROOT / "scripts/llamacpp_accuracy.py")
    assert spec and spec.loader
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


@pytest.fixture(scope="module")
def rows():
    return _script().load_rows()


def test_rows_are_sourced_on_catalogued_cards_and_enough():
    catalog = load_catalog(None)
    rows = BENCH["rows"]
    for r in rows:
        assert r["source"].startswith("https://"), r["id"]
        assert r["build"], r["id"]
        catalog.find(r["card"])  # raises for a card the catalogue lacks
    bench = [r for r in rows if r["tool"] == "llama-bench"]
    assert len(bench) >= 20
    assert len({r["card"] for r in rows}) >= 6
    held = sum(r["held_out"] for r in rows)
    assert 0.25 <= held / len(rows) <= 0.45  # about a third kept out of the fit
    assert len({r["id"] for r in rows}) == len(rows)


def test_decode_within_30_percent_on_at_least_80_percent_of_rows(rows):
    tg = [r for r in rows if r.kind == "tg"]
    errors = [abs(r.predict() / r.measured - 1) for r in tg]
    assert sum(e <= 0.30 for e in errors) >= 0.8 * len(errors)
    held = [abs(r.predict() / r.measured - 1) for r in tg if r.row["held_out"]]
    assert held and sum(e <= 0.30 for e in held) >= 0.75 * len(held)


def test_speed_json_is_the_fit_of_the_rows(rows):
    """data/speed.json holds what scripts/llamacpp_accuracy.py --fit makes of the rows now (a
    row added without refitting fails here)."""
    refit = _script().fit(rows)
    c = constants()
    assert refit["decode_bandwidth_efficiency"] == c["decode_bandwidth_efficiency"]
    assert refit["decode_overhead_s"] == c["decode_overhead_s"]
    assert refit["prefill_efficiency"] == c["prefill_efficiency"]
    assert c["fit"] == _script().summary(rows)


def test_quant_kinds():
    assert quant_kind("f16") == quant_kind("bf16") == "f16"
    assert quant_kind("q4_0") == quant_kind("q8_0") == "legacy"
    assert quant_kind("q4_k_m") == quant_kind("q6_k") == "kquant"
    assert quant_kind("iq4_xs") == "iquant"


def test_the_readme_table_is_what_the_script_prints(rows):
    """The README's llama.cpp table is reproduced by scripts/llamacpp_accuracy.py."""
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    assert _script().table(rows) in readme
