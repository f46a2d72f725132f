"""What gpus, gpu and model say in Chinese: tables, help and errors hold no English prose (only
names, units and identifiers), tables line up in terminal cells in both languages, JSON keys
stay English while prose values follow the language, and malformed input is one Chinese line."""

from __future__ import annotations

import json

import pytest
from hypothesis import given
from hypothesis import strategies as st

from gpuwise.catalog.features import feature_ids
from gpuwise.cli.gpus import SORT_KEYS
from gpuwise.cli.main import COMMANDS
from gpuwise.i18n.width import cells

from ..checks import TINY_CONFIG, fixture_ok, json_values, one_line
from .checks import leftover_english, table_lines_aligned

CONFIG = "src/gpuwise/models/presets/llama-3.1-8b.json"
#: What "expected a JSON object, got ..." names: the type Python read the file as.
PYTHON_TYPES = ("int", "float", "str", "list", "bool", "NoneType")


def strings(value) -> list[str]:
    """Every string in a JSON value (keys too): what came from data, not from gpuwise."""
    if isinstance(value, str):
        return [value]
    if isinstance(value, dict):
        return [*value, *(s for v in value.values() for s in strings(v))]
    if isinstance(value, list):
        return [s for v in value for s in strings(v)]
    return []


def card_names(cli) -> list[str]:
    """The words of the catalogue's data: names, series, architectures, chips, memory types
    (word by word: a table folds a long name onto two lines)."""
    doc = cli("gpus", "--json").json()
    keys = ("name", "series", "architecture", "chip", "memory_type")
    return [w for c in doc["cards"] for k in keys if c[k] for w in c[k].split()]


def without_sources(out: str) -> str:
    """A ``gpu`` table without the source titles under it (data: each a title as its source
    wrote it)."""
    lines = out.splitlines()
    last = max(i for i, line in enumerate(lines) if line.strip().startswith("└"))
    return "\n".join(lines[: last + 1])


def said(err: str) -> str:
    """An error line without its ``gpuwise COMMAND`` prefix."""
    return err.split("：", 1)[1] if "：" in err else err


@pytest.mark.parametrize(
    "args",
    [
        ["gpus"],
        ["gpus", "--series", "RTX 40", "--sort", "memory_gb", "--desc"],
        ["gpu", "3090"],
        ["gpu", "h200"],
        ["gpu", "p40"],
        ["gpu", "rtx a6000"],
    ],
)
def test_card_tables_in_chinese_leave_no_english(cli, args):
    r = cli(*args, "--lang", "zh")
    assert r.code == 0 and r.err == "", r.err
    out = without_sources(r.out) if args[0] == "gpu" else r.out
    assert leftover_english(out, card_names(cli)) == []
    assert table_lines_aligned(r.out) == []


@pytest.mark.parametrize(
    "model", [CONFIG, "7b", "deepseek-v3", "bert-base-uncased", "qwen3-30b-a3b"]
)
def test_model_tables_in_chinese_leave_no_english(cli, model):
    r = cli("model", model, "--lang", "zh")
    assert r.code == 0 and r.err == "", r.err
    doc = cli("model", model, "--json").json()
    names = [doc["name"], doc["model_type"], *strings(doc["shapes"]), *doc["weights_bytes"]]
    names += [model]  # a path or hub id, in the title (folded where it is long)
    names += [w for s in doc["source"].split() if "/" in s for w in s.strip("()").split("/")]
    assert leftover_english(r.out, names) == []
    assert table_lines_aligned(r.out) == []


def test_the_english_check_sees_an_english_table(cli):
    """Not vacuous: the English table of the same command is full of English words."""
    r = cli("gpu", "3090")
    assert len(leftover_english(r.out, card_names(cli))) > 20


@pytest.mark.parametrize("language", ["en", "zh"])
@pytest.mark.parametrize(
    "args", [["gpus"], ["gpu", "3090"], ["gpu", "h100"], ["model", "deepseek-v3"], ["model", "7b"]]
)
def test_tables_line_up_in_terminal_cells(cli, args, language):
    out = cli(*args, "--lang", language).out
    assert "┃" in out
    assert table_lines_aligned(out) == []


def test_the_alignment_check_sees_a_table_that_does_not_line_up():
    good = "┃ a ┃ b ┃\n│ 1 │ 2 │"
    assert table_lines_aligned(good) == []
    assert table_lines_aligned("┃ 显卡 ┃ b ┃\n│ 1 │ 2 │")  # counted by length, not cells


@pytest.mark.parametrize("language", ["en", "zh-CN"])
def test_a_narrow_terminal_never_cuts_a_figure_or_its_header(language):
    """On a terminal too narrow for the catalogue, the card names fold but every figure
    column keeps its header and figures whole: a column is as wide as its widest cell counted
    in terminal cells (显存 GB takes 7, not 5)."""
    import io

    from gpuwise.catalog import load_catalog
    from gpuwise.i18n import use
    from gpuwise.render.card_json import cards_doc
    from gpuwise.render.card_tables import gpus_table
    from gpuwise.render.console import SafeConsole

    catalog = load_catalog()
    before = use(language)
    try:
        table = gpus_table(cards_doc(catalog, catalog.cards))
        for width in (60, 80):
            out = io.StringIO()
            SafeConsole(file=out, width=width, markup=False).print(table)
            header = next(line for line in out.getvalue().splitlines() if "┃" in line)
            assert "…" not in header, header
            assert ("显存 GB" if language == "zh-CN" else "GB") in header
    finally:
        use(before)


@pytest.mark.parametrize(
    "args", [[], ["--help"], ["gpus", "--help"], ["gpu", "--help"], ["model", "--help"]]
)
def test_help_in_chinese_leaves_no_english_and_fits_the_terminal(cli, monkeypatch, args):
    monkeypatch.setenv("COLUMNS", "80")
    r = cli(*args, "--lang", "zh")
    assert r.code == 0
    # the other commands' help lines are a later phase's; flags, metavars and choices stay
    # a quoted example or a command in backticks may be wrapped onto two lines: one line
    text = " ".join(
        line.strip()
        for line in r.out.splitlines()
        if not line.strip().startswith(("plan", "recommend", "probe", "bench", "mnist", "doctor"))
    )
    assert "用法：" in text and "选项" in text
    # the command names and the --feature ids are identifiers; `name` and `model` the
    # arguments' names
    names = ["name", "model", *COMMANDS, *feature_ids()]
    assert leftover_english(text, names) == []
    assert max(cells(line) for line in r.out.splitlines()) <= 80


# -- errors ----------------------------------------------------------------------------------
BAD = [
    (["gpus", "--min-memory", "-1"], ["-1.0"]),
    (["gpus", "--min-memory", "x"], ["float", "x"]),
    (["gpus", "--feature", "nope"], ["nope"]),
    (["gpus", "--sort", "nope"], ["nope"]),
    (["gpus", "--series", ""], []),
    (["gpus", "--series", "zzz"], ["zzz", "Data centre", "RTX workstation", "GeForce"]),
    (["gpus", "--bogus"], []),
    (["gpu"], ["name"]),  # the argument's name
    (["gpu", ""], []),
    (["gpu", "4060 ti"], ["GeForce RTX 4060 Ti"]),
    (["gpu", "zzz9999"], ["Tesla P100", "Tesla P40", "Tesla V100", "SXM2", "PCIe"]),
    (["gpu", "x" * 200], ["x" * 80]),
    (["model"], ["MODEL"]),
    (["model", "nosuchmodel"], ["nosuchmodel"]),
    (["model", "qwen2.5-14"], []),
    (["model", "org/name"], []),
    (["model", "1000t"], []),
    (["model", "--source", "modelscope", "qwen2.5-7b"], []),
    (["nosuchcommand"], ["nosuchcommand", "gpus", "gpu", "model", "plan", "recommend", "probe"]),
]


@pytest.mark.parametrize(("args", "names"), BAD, ids=[" ".join(a)[:30] for a, _ in BAD])
def test_bad_input_is_one_chinese_line(cli, args, names):
    r = cli(*args, "--lang", "zh")
    one_line(r, "错误")
    names = [*names, *(a for a in args if a), *SORT_KEYS, *feature_ids()]
    assert leftover_english(said(r.err), [*names, *COMMANDS]) == [], r.err


@pytest.mark.parametrize(("args", "names"), BAD[:6], ids=[" ".join(a)[:30] for a, _ in BAD[:6]])
def test_the_json_error_says_the_same_line_in_the_same_language(cli, args, names):
    r = cli(*args, "--json", "--lang", "zh")
    doc = r.json()
    assert set(doc) == {"schema_version", "gpuwise_version", "error"}
    assert set(doc["error"]) == {"code", "message"}
    assert r.err.rstrip("\n").endswith(doc["error"]["message"])
    english = cli(*args, "--json").json()["error"]
    assert english["code"] == doc["error"]["code"] and english["message"] != doc["error"]["message"]


def test_model_json_keys_stay_english_and_prose_follows_the_language(cli):
    en = cli("model", "7b", "--json").json()
    zh = cli("model", "7b", "--json", "--lang", "zh").json()
    assert set(en) == set(zh) and en["params"] == zh["params"] and en["shapes"] == zh["shapes"]
    assert en["source"] == "size 7b" and zh["source"] == "规模 7b"
    assert en["counted_by"] == "gpuwise rules" and zh["counted_by"] == "gpuwise 规则"
    assert "assumed the shapes of" in en["assumptions"][0] and "假定为" in zh["assumptions"][0]


@fixture_ok
@given(
    field=st.sampled_from(["memory_gb", "compute_capability", "name", "aliases", "pcie_gen"]),
    value=json_values,
)
def test_a_malformed_card_file_is_one_chinese_line(cli, tmp_path, field, value):
    path = tmp_path / "cards.json"
    card = {
        "slug": "my-card",
        "name": "My Card",
        "compute_capability": "8.6",
        "memory_gb": 22,
        "bandwidth_gb_s": 616,
        "fp32_tflops": 13.4,
        "tdp_w": 250,
        field: value,
    }
    path.write_text(json.dumps({"cards": [card]}), encoding="utf-8")
    r = cli("gpu", "my card", "--catalog", str(path), "--lang", "zh")
    if r.code == 0:
        return  # a value the file may hold
    one_line(r, "错误")
    names = [str(path), *strings(card), *(json.dumps(v) for v in strings(card)), json.dumps(value)]
    assert leftover_english(said(r.err), names) == [], r.err


@fixture_ok
@given(
    field=st.sampled_from(
        [
            "hidden_size",
            "num_attention_heads",
            "num_key_value_heads",
            "vocab_size",
            "tie_word_embeddings",
            "layer_types",
        ]
    ),
    value=json_values,
)
def test_a_malformed_config_is_one_chinese_line(cli, tmp_path, field, value):
    config = {**TINY_CONFIG, field: value}
    path = tmp_path / "config.json"
    path.write_text(json.dumps(config), encoding="utf-8")
    r = cli("model", str(path), "--lang", "zh")
    if r.code == 0:
        return
    one_line(r, "错误")
    names = [str(path), *strings(config), json.dumps(value), repr(value), *PYTHON_TYPES]
    names += [json.dumps(v) for v in strings(value)] + [repr(v) for v in strings(value)]
    assert leftover_english(said(r.err), names) == [], r.err


@fixture_ok
@given(text=st.text(max_size=40))
def test_a_file_that_is_not_json_is_one_chinese_line(cli, tmp_path, text):
    path = tmp_path / "config.json"
    path.write_text(text, encoding="utf-8")
    r = cli("model", str(path), "--lang", "zh")
    if r.code == 0:
        return
    one_line(r, "错误")
    assert leftover_english(said(r.err), [str(path), text, *PYTHON_TYPES]) == [], r.err


@pytest.mark.parametrize(
    "config",
    [
        {"model_type": "no-such-type", "hidden_size": 64, "num_hidden_layers": 2},
        {"model_type": "no-such-type", "hidden_size": 64, "num_hidden_layers": 2, "auto_map": 3},
        {"model_type": "t5", "d_model": 64, "num_layers": 2, "vocab_size": 100},
    ],
    ids=["unknown type", "auto_map", "encoder-decoder"],
)
def test_the_transformers_path_refuses_in_chinese(cli, tmp_path, config):
    """A model type gpuwise has no rule for goes to transformers (or says to install it): its
    refusals are one Chinese line too."""
    path = tmp_path / "config.json"
    path.write_text(json.dumps(config), encoding="utf-8")
    r = cli("model", str(path), "--lang", "zh")
    one_line(r, "错误")
    names = [str(path), *strings(config), *PYTHON_TYPES, "hf", "pip", "install"]
    assert leftover_english(said(r.err), names) == [], r.err
