"""What ``gpuwise recommend`` says in Chinese: its table, the notes below it and its prices hold no
English prose (only names, codes, units and what came from data), the table lines up in terminal
cells and fits a 100-column terminal, ``--json`` has the English document's keys and numbers
with its prose in Chinese, and malformed flags and price files are one Chinese line."""

from __future__ import annotations

import io
import json
import re

import pytest
from hypothesis import given
from hypothesis import strategies as st

from gpuwise.i18n import use
from gpuwise.recommend.options import STRATEGY_ORDER

from ..checks import fixture_ok, json_values, one_line
from .checks import leftover_english, table_lines_aligned
from .test_zh_output import said, strings

CJK = re.compile(r"[\u4e00-\u9fff]")
SMALL = ("--gpu", "3090", "--gpu", "4090", "--max-gpus", "2")

#: A spread of questions: (name, arguments after ``recommend``).
SPREAD = [
    ("lora usd budget", ["qwen2.5-7b", "--method", "lora", "--budget", "2000", "--top", "12"]),
    (
        "qlora cny budget, converted prices",
        ["qwen2.5-14b", "--method", "qlora", "--budget", "15000", "--currency", "cny"],
    ),
    ("rent and break-even", ["gpt2", *SMALL, "--gpu", "h100", "--tokens", "200M"]),
    (
        "cny rent and break-even",
        ["gpt2", *SMALL, "--currency", "cny", "--tokens", "200M", "--rate", "7.2"],
    ),
    ("deadline and power", ["llama-3.2-1b", *SMALL, "--tokens", "1B", "--deadline", "1h"]),
    ("max power", ["llama-3.2-1b", "--method", "lora", "--max-power", "300", "--top", "10"]),
    ("impossible budget, advice", ["llama-3.1-70b", "--method", "full", "--budget", "500"]),
    ("have", ["llama-3.1-8b", "--method", "lora", "--have", "3060", "--top", "5"]),
    ("infer", ["qwen2.5-7b", "--task", "infer", "--top", "8"]),
]


def data_words(doc: dict) -> list[str]:
    """What a recommend document holds that came from data or the user, not from gpuwise's
    words: card and model names, strategies, precisions and the workload's values (codes),
    price sources, their notes and estimates, the rate's source, paths."""
    words = [doc["model"]["name"], *STRATEGY_ORDER]
    words += [v for v in doc["workload"].values() if isinstance(v, str)]  # codes: adamw, lora
    for o in doc["options"]:
        words += [o["gpu"], o["precision"] or ""]
        for q in (o["price"], o["rental"]):
            if q:
                words += [str(q["source"]), q["note"] or "", q["estimate"] or "", q["url"] or ""]
    rate = doc["prices"]["rate"]
    if rate:
        words.append(rate["source"])
    if doc.get("advice"):
        words.append(doc["advice"]["card"])
    return [w for w in words if w]


def rendered(doc: dict, language: str, width: int) -> list[str]:
    """``recommend_tables`` of ``doc`` in ``language`` on a terminal ``width`` columns wide,
    one string per thing printed (the table, the notes, the advice)."""
    from gpuwise.render.console import SafeConsole
    from gpuwise.render.recommend_tables import recommend_tables

    before = use(language)
    try:
        out = []
        for part in recommend_tables(doc):
            buffer = io.StringIO()
            SafeConsole(file=buffer, width=width, markup=False).print(part)
            out.append(buffer.getvalue())
        return out
    finally:
        use(before)


@pytest.mark.parametrize(("name", "args"), SPREAD, ids=[n for n, _ in SPREAD])
def test_recommend_in_chinese_leaves_no_english(cli, name, args):
    r = cli("recommend", *args, "--lang", "zh")
    assert r.code == 0 and r.err == "", r.err
    assert table_lines_aligned(r.out) == []
    doc = cli("recommend", *args, "--lang", "zh", "--json").json()
    assert doc["options"]
    table, notes, *advice = rendered(doc, "zh-CN", 1000)  # nothing folds
    # the workload line, the precision notes and the advice are plan's words, in Chinese too
    assert leftover_english("\n".join([table, notes, *advice]), data_words(doc)) == []
    assert "方案" in table
    if any(o["price"] for o in doc["options"]):
        assert "价格" in notes
    if name.startswith("impossible"):
        assert advice, "the advice table follows when nothing fits"


def test_a_held_back_option_says_why_in_chinese(cli):
    args = ["qwen2.5-7b", "--method", "qlora", "--budget", "15000", "--currency", "cny"]
    # every option: ranked by cost to finish, the first 12 may all be within the budget
    r = cli("recommend", *args, "--top", "0", "--lang", "zh")
    assert "未入选的原因" in r.out and "超过预算 15,000 元" in r.out
    english = cli("recommend", *args, "--top", "0")
    assert "over the budget of 15,000 CNY" in english.out and "Why not" in english.out


def test_inference_options_show_no_count_or_strategy_column(cli):
    """One card each, by the same strategy: said once below the table, not on every row."""
    for language, words in (
        ("en", ("Strategy", "one card per option")),
        ("zh", ("策略", "每个方案一张显卡")),
    ):
        r = cli("recommend", "qwen2.5-7b", "--task", "infer", "--top", "5", "--lang", language)
        header = next(line for line in r.out.splitlines() if "┃" in line)
        assert words[0] not in header and words[1] in r.out


def test_the_english_check_sees_the_english_table(cli):
    """Not vacuous: the English table of the same question is full of English words."""
    args = SPREAD[1][1]
    doc = cli("recommend", *args, "--json").json()
    table, notes, *_ = rendered(doc, "en", 1000)
    assert len(leftover_english(table + notes, data_words(doc))) > 30


@pytest.mark.parametrize("language", ["en", "zh"])
@pytest.mark.parametrize(("name", "args"), SPREAD[:5], ids=[n for n, _ in SPREAD[:5]])
def test_the_table_fits_a_100_column_terminal(cli, name, args, language):
    """On a 100-column terminal, in both languages: every figure, strategy and header whole on
    its row; only a long card name may fold onto a second line, and the usual ones do not."""
    doc = cli("recommend", *args, "--lang", language, "--json").json()
    table, *_ = rendered(doc, "zh-CN" if language == "zh" else "en", 100)
    lines = table.splitlines()
    assert table_lines_aligned(table) == []
    assert max(len(line.rstrip()) for line in lines) <= 100
    assert "…" not in table
    rows = [[cell.strip() for cell in line.split("│")[1:-1]] for line in lines if "│" in line]
    firsts = [row for row in rows if row[0]]
    assert [int(row[0]) for row in firsts] == [o["rank"] for o in doc["options"]]
    for row in rows:
        if not row[0]:  # a folded name's second line: nothing else on it
            assert not any(row[2:]), row
    word = "策略" if language == "zh" else "Strategy"
    header = next(x for x in lines if word in x)  # a header may take two lines
    strategy = [c.strip() for c in header.split("┃")[1:-1]].index(word)
    for row, o in zip(firsts, doc["options"], strict=True):
        assert row[strategy] == (o["strategy"] or "—")
        if len(o["gpu"].removeprefix("GeForce ")) <= 20:  # † when recommend adds checkpointing
            mark = "†" if "grad_checkpointing" in o["changes"] else ""
            assert row[1] == o["gpu"].removeprefix("GeForce ").removeprefix("NVIDIA ") + mark


# -- the JSON document -----------------------------------------------------------------------
def _pairs(en, zh, path=""):
    """(path, English, Chinese) of every string that differs; asserts the rest are equal."""
    assert type(en) is type(zh), path
    if isinstance(en, dict):
        assert list(en) == list(zh), path
        return [p for k in en for p in _pairs(en[k], zh[k], f"{path}.{k}")]
    if isinstance(en, list):
        assert len(en) == len(zh), path
        return [
            p
            for i, (a, b) in enumerate(zip(en, zh, strict=True))
            for p in _pairs(a, b, f"{path}[{i}]")
        ]
    if isinstance(en, str) and en != zh:
        return [(path, en, zh)]
    assert en == zh, path
    return []


@pytest.mark.parametrize(("name", "args"), SPREAD, ids=[n for n, _ in SPREAD])
def test_json_in_chinese_has_the_same_keys_and_numbers_and_chinese_prose(cli, name, args):
    en = cli("recommend", *args, "--json").json()
    zh = cli("recommend", *args, "--json", "--lang", "zh").json()
    differ = _pairs(en, zh)
    for path, _, text in differ:
        assert CJK.search(text), (path, text)
    # recommend's own prose is Chinese, and only prose differs (codes and names never do)
    prose = ("reason", "price_source", "why", "notes", "precision_note", "precision_warning")
    prose += ("source",)  # of the rate given with --rate
    prose += ("change", "caveat")  # the advice, said by plan
    assert all(re.sub(r"\[\d+\]", "", p).rsplit(".", 1)[-1] in prose for p, *_ in differ), differ
    for o_en, o_zh in zip(en["options"], zh["options"], strict=True):
        if o_en["reason"]:
            assert o_zh["reason"] != o_en["reason"] and CJK.search(o_zh["reason"])
            assert leftover_english(o_zh["reason"], data_words(en)) == [], o_zh["reason"]


def test_json_without_prose_is_the_same_in_both_languages(cli):
    """Options that all fit, priced from the market: nothing in the document is gpuwise's own
    prose but the price source, which names its kind of price in the language in use."""
    args = ("recommend", "gpt2", *SMALL, "--json")
    en, zh = cli(*args).json(), cli(*args, "--lang", "zh").json()
    differ = _pairs(en, zh)
    fields = {re.sub(r"\[\d+\]", "", p).rsplit(".", 1)[-1] for p, *_ in differ}
    assert fields <= {"price_source", "precision_note", "notes"}  # notes: plan's (timing)
    assert any(s.startswith("used, ") for _, s, _ in differ)
    assert any(s.startswith("二手，") for *_, s in differ)


# -- bad input -------------------------------------------------------------------------------
BAD = [
    ["--budget", "-5"],
    ["--budget", "0.0001"],
    ["--max-gpus", "9"],
    ["--max-power", "0"],
    ["--host-ram", "1e300"],
    ["--top", "-1"],
    ["--grad-accum", "0"],
    ["--deadline", "soon", "--tokens", "1B"],
    ["--deadline", "20y", "--tokens", "1B"],
    ["--deadline", "2d"],
    ["--rate", "0"],
    ["--rate", "1e9"],
    ["--currency", "eur"],
    ["--objective", "best"],
    ["--task", "infer", "--grad-accum", "4"],
    # the shared flags, said by plan and the catalogue, on recommend's command line
    ["--tokens", "lots"],
    ["--reserve", "-1"],
    ["--gpu", "rtx 9999"],
    ["--have", "voodoo 5"],
    ["--series", "RTX 99"],
]


@pytest.mark.parametrize("flags", BAD, ids=[" ".join(f) for f in BAD])
def test_bad_flags_are_one_chinese_line(cli, flags):
    r = cli("recommend", "gpt2", *SMALL, *flags, "--lang", "zh")
    one_line(r, "错误")
    assert CJK.search(said(r.err)), r.err
    english = cli("recommend", "gpt2", *SMALL, *flags)
    one_line(english)
    assert said(r.err) != english.err
    names = [
        *flags,
        "usd",
        "cny",
        "cost-to-finish",
        "cheapest",
        "fastest",
        "tokens-per-dollar",
        "float",
        "int",
    ]
    assert leftover_english(said(r.err), names) == [], r.err


NUMBER_FLAGS = ("--budget", "--max-power", "--host-ram", "--max-gpus", "--grad-accum", "--top")


@fixture_ok
@given(
    flag=st.sampled_from([*NUMBER_FLAGS, "--rate", "--deadline", "--currency", "--objective"]),
    value=st.one_of(
        st.floats(allow_nan=True, allow_infinity=True).map(repr),
        st.integers(-(10**12), 10**12).map(str),
        st.text(max_size=12),
    ),
)
def test_any_flag_value_is_options_or_one_chinese_line(cli, flag, value):
    extra = ("--tokens", "1B") if flag == "--deadline" else ()
    r = cli("recommend", "gpt2", "--gpu", "3090", "--max-gpus", "1", *extra, f"{flag}={value}")
    if r.code == 0:
        return  # a value the flag takes
    zh = cli(
        "recommend", "gpt2", "--gpu", "3090", "--max-gpus", "1", *extra, f"{flag}={value}",
        "--lang", "zh",
    )  # fmt: skip
    one_line(zh, "错误")
    names = [
        flag,
        value,
        repr(value),
        "usd",
        "cny",
        "cost-to-finish",
        "cheapest",
        "fastest",
        "tokens-per-dollar",
    ]
    names += ["float", "int", "recommend"]  # a value with a backtick unpairs `gpuwise recommend`
    names += ["nan", "inf"]  # the value as the number it was read as ('NaN', '+Infinity')
    assert leftover_english(said(zh.err), names) == [], zh.err


def _names(value) -> list[str]:
    """How a value from the file can appear in an error line: as JSON, as Python writes it,
    cut to 40 characters."""
    out = []
    for s in [*strings(value), value]:
        out += [json.dumps(s), repr(s), repr(s)[:37], str(s)]
    return out


@fixture_ok
@given(
    field=st.sampled_from(["currency", "cards", "buy", "hourly", "note", "key"]),
    value=json_values,
)
def test_a_malformed_price_file_is_one_chinese_line(cli, tmp_path, field, value):
    entry: dict = {"buy": 700}
    doc: dict = {"currency": "usd", "cards": {"3090": entry}}
    if field in ("currency", "cards"):
        doc[field] = value
    elif field == "key":
        entry[str(value)[:10]] = 1
    else:
        entry[field] = value
    path = tmp_path / "prices.json"
    path.write_text(json.dumps(doc), encoding="utf-8")
    r = cli("recommend", "gpt2", "--gpu", "3090", "--max-gpus", "1", "--prices", str(path),
            "--lang", "zh")  # fmt: skip
    if r.code == 0:
        return
    one_line(r, "错误", "价格文件")
    names = [str(path), *_names(doc), *_names(value), "buy", "hourly", "note", "usd", "cny"]
    names += ["int", "float", "str", "list", "bool", "NoneType", "dict"]
    assert leftover_english(said(r.err), names) == [], r.err


@fixture_ok
@given(
    field=st.sampled_from(["date", "rate", "sources", "card", "kind", "amount", "currency",
                           "source", "estimate"]),
    value=json_values,
)  # fmt: skip
def test_a_malformed_market_file_is_one_chinese_line(cli, tmp_path, field, value):
    price = {"card": "3090", "kind": "used", "amount": 4000, "currency": "cny",
             "date": "2026-01", "source": "fx"}  # fmt: skip
    doc: dict = {
        "date": "2026-11-30",
        "rate": {"cny_per_usd": 7.1, "date": "2026-11-30", "source": "fx"},
        "sources": {"fx": {"title": "a title", "url": "https://example.com"}},
        "prices": [price],
    }
    if field in ("date", "rate", "sources"):
        doc[field] = value
    else:
        price[field] = value
    path = tmp_path / "market.json"
    path.write_text(json.dumps(doc), encoding="utf-8")
    r = cli("recommend", "gpt2", "--gpu", "3090", "--max-gpus", "1", "--market", str(path),
            "--currency", "cny", "--lang", "zh")  # fmt: skip
    if r.code == 0:
        return
    one_line(r, "错误", "市场价格文件")
    names = [str(path), *_names(doc), *_names(value), "cny_per_usd", "YYYY-MM-DD", "YYYY-MM"]
    names += ["YYYY", "usd", "cny", "street", "used", "rental", "title", "url", "https"]
    names += ["int", "float", "str", "list", "bool", "NoneType", "dict", "GeForce", "RTX"]
    assert leftover_english(said(r.err), names) == [], r.err


def test_recommend_help_in_chinese_leaves_no_english(cli, monkeypatch):
    monkeypatch.setenv("COLUMNS", "100")
    r = cli("recommend", "--help", "--lang", "zh")
    assert r.code == 0 and "用法：" in r.out
    # recommend's own part: from the top to the workload flags (plan's, its own phase)
    # (after the usage lines, whose choices are codes)
    own = r.out.split("\n\n", 1)[1].split("工作负载")[0].split("--task")[0]
    text = " ".join(line.strip() for line in own.splitlines())
    names = [
        "usd",
        "cny",
        "cost-to-finish",
        "cheapest",
        "fastest",
        "tokens-per-dollar",
        "model",
        "huggingface",
    ]
    names += ["modelscope", "FILE", "CARD", "CNY_PER_USD", "BUDGET", "TOKENS", "DEADLINE", "TOP"]
    names += ["MAX_GPUS", "MAX_POWER", "HOST_RAM", "SERIES", "RESERVE", "GRAD_ACCUM", "TEXT"]
    names += ["llamafactory", "unsloth", "axolotl", "torchtune", "trl"]  # --framework's
    assert leftover_english(text, names) == [], text
