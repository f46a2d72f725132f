"""What ``gpuwise plan`` says in Chinese: its tables, the notes under them, the advice and
``--help`` hold no English prose (only names, codes, units and what the user typed), the tables
line up in terminal cells, ``--json`` has the English document's keys and numbers with its prose
in Chinese, and malformed flags are one Chinese line. The prose that comes from data files
(precision rules, efficiency kinds) says in English what the data file says."""

from __future__ import annotations

import json
import re

import pytest
from hypothesis import given
from hypothesis import strategies as st

from gpuwise.i18n import Message, render
from gpuwise.models.weight_types import ALIASES, WEIGHT_TYPES
from gpuwise.parallel import STRATEGIES
from gpuwise.plan.fit import REQUIREMENTS
from gpuwise.plan.precision import DEFAULT_NOTES, NATIVE_WHY, _rules
from gpuwise.workload import METHODS, OPTIMIZERS, PRECISIONS

from ..checks import fixture_ok, one_line
from .checks import leftover_english, table_lines_aligned

CJK = re.compile(r"[\u4e00-\u9fff]")

#: A spread of plans: (what it shows, arguments after ``plan``).
SPREAD = [
    ("full, default cards", ["llama-3.2-1b"]),
    ("full, old cards in their precisions", ["llama-3.2-1b", "--gpu", "1080ti,2080ti,3090"]),
    (
        "bf16 asked on cards without it",
        ["llama-3.2-1b", "--precision", "bf16", "--gpu", "1080ti", "--gpu", "2080ti"],
    ),
    (
        "lora with tokens",
        [
            "qwen2.5-7b",
            "--method",
            "lora",
            "--batch",
            "4",
            "--seq",
            "1024",
            "--grad-checkpointing",
            "--gpu",
            "4090",
            "--gpu",
            "a100-sxm-80gb",
            "--tokens",
            "50M",
        ],
    ),
    ("qlora too big, advice", ["llama-3.1-8b", "--method", "qlora", "--gpu", "3090"]),
    ("full too big, stacked advice", ["70b", "--gpu", "3090"]),
    (
        "batch too big, micro-batch advice",
        ["llama-3.1-8b", "--method", "lora", "--gpu", "3090", "--batch", "4", "--tokens", "50M"],
    ),
    (
        "8-bit optimizer on BERT",
        [
            "bert-base-uncased",
            "--gpu",
            "2080ti",
            "--batch",
            "32",
            "--seq",
            "512",
            "--optimizer",
            "sgd",
        ],
    ),
    (
        "infer int4",
        [
            "mistral-7b",
            "--task",
            "infer",
            "--weight-dtype",
            "int4",
            "--seq",
            "8192",
            "--gpu",
            "4060ti16",
        ],
    ),
    (
        "infer fp8 on two cards",
        [
            "mistral-7b",
            "--task",
            "infer",
            "--weight-dtype",
            "fp8",
            "--kv-dtype",
            "fp8",
            "--gpu",
            "4090",
            "--gpu",
            "3090",
            "--tokens",
            "1M",
        ],
    ),
    (
        "infer too big, advice",
        ["llama-3.1-70b", "--task", "infer", "--gpu", "3090", "--batch", "4"],
    ),
    ("infer MoE", ["deepseek-v3", "--task", "infer", "--gpu", "h200"]),
    (
        "zero3-offload on 4 cards",
        ["7b", "--gpus", "4", "--strategy", "zero3-offload", "--gpu", "4090", "--tokens", "1B"],
    ),
    (
        "fsdp-hybrid",
        ["7b", "--gpus", "4", "--strategy", "fsdp-hybrid", "--shard-size", "2", "--gpu", "h100"],
    ),
    (
        "ddp with accumulation",
        ["7b", "--gpus", "2", "--strategy", "ddp", "--gpu", "a100-sxm-80gb", "--grad-accum", "4"],
    ),
    (
        "fsdp-offload lora",
        ["7b", "--gpus", "2", "--strategy", "fsdp-offload", "--gpu", "4090", "--method", "lora"],
    ),
    (
        "zero2 amp",
        ["7b", "--gpus", "4", "--strategy", "zero2", "--gpu", "3090", "--precision", "amp-bf16"],
    ),
    (
        "amp-bf16 on Pascal",
        [
            "llama-3.2-1b",
            "--method",
            "lora",
            "--gpu",
            "1080",
            "--precision",
            "amp-bf16",
            "--tokens",
            "1B",
        ],
    ),
]


def data_words(doc: dict) -> list[str]:
    """What a plan document holds that came from data or the user, not from gpuwise's words:
    the model's name and type, card names, the workload's codes (method, optimizer,
    precisions, dtypes, LoRA targets), strategies, the activation terms' source, paths."""
    w = doc["workload"]
    words = [doc["model"]["name"], doc["model"]["model_type"], *STRATEGIES, *OPTIMIZERS]
    words += [*PRECISIONS, doc["memory"]["terms_from"], *map(str, w.get("lora_targets", []))]
    words += [str(v) for k, v in w.items() if k in ("method", "weight_dtype", "kv_dtype")]
    for c in doc["cards"]:
        words += [c["name"], c["memory"]["terms_from"]]
    return [*words, *doc.get("emitted", [])]


def plan(cli, args, *more):
    r = cli("plan", *args, *more)
    assert r.code == 0 and r.err == "", r.err
    return r


@pytest.mark.parametrize("args", [a for _, a in SPREAD], ids=[n for n, _ in SPREAD])
def test_plan_in_chinese_leaves_no_english_and_lines_up(cli, args):
    doc = plan(cli, args, "--json").json()
    out = plan(cli, args, "--lang", "zh").out
    assert CJK.search(out)
    assert leftover_english(out, data_words(doc)) == []
    assert table_lines_aligned(out) == []
    assert table_lines_aligned(plan(cli, args, "--lang", "en").out) == []


def test_emitted_files_are_said_in_chinese_and_stay_as_they_are(cli, tmp_path):
    args = ["llama-3.2-1b", "--gpus", "2", "--strategy", "zero3", "--gpu", "4090"]
    zh = plan(cli, [*args, "--emit", str(tmp_path / "zh")], "--lang", "zh").out
    en = plan(cli, [*args, "--emit", str(tmp_path / "en")]).out
    assert "已写入" in zh and "Wrote" in en
    doc = plan(cli, args, "--json").json()
    paths = [str(p) for p in (tmp_path / "zh").iterdir()]
    assert leftover_english(zh, [*data_words(doc), *paths, str(tmp_path)]) == []
    for name in ("plan.txt", "launch.sh", "train.py", "ds_config.json"):
        assert (tmp_path / "zh" / name).read_text() == (tmp_path / "en" / name).read_text()


def strings_at(value, path=""):
    """(path, value) of every leaf of a JSON document."""
    if isinstance(value, dict):
        return [x for k, v in value.items() for x in strings_at(v, f"{path}.{k}")]
    if isinstance(value, list):
        return [x for i, v in enumerate(value) for x in strings_at(v, f"{path}[{i}]")]
    return [(path, value)]


#: Keys whose values are prose (said in the language of the command).
PROSE = (
    "notes",
    "note",
    "precision_note",
    "precision_warning",
    "problems",
    "change",
    "caveat",
    "why",
)


@pytest.mark.parametrize("args", [a for _, a in SPREAD], ids=[n for n, _ in SPREAD])
def test_json_in_chinese_has_the_same_keys_and_numbers_with_prose_in_chinese(cli, args):
    en = plan(cli, args, "--json").json()
    zh = plan(cli, args, "--json", "--lang", "zh").json()
    en_leaves, zh_leaves = strings_at(en), strings_at(zh)
    assert [p for p, _ in en_leaves] == [p for p, _ in zh_leaves]
    prose = 0
    for (path, a), (_, b) in zip(en_leaves, zh_leaves, strict=True):
        key = re.sub(r"\[\d+\]", "", path).rsplit(".", 1)[-1]
        if key in PROSE and isinstance(a, str):
            prose += 1
            assert CJK.search(b) and not CJK.search(a), (path, a, b)
            assert leftover_english(b, data_words(en)) == [], (path, b)
        else:
            assert a == b, (path, a, b)
    assert prose >= 2


def test_the_english_json_says_the_precision_rules_and_efficiencies_as_the_data_files_do():
    """The catalogue's English is the data files' words: a rule's note or why edited in
    data/precision.json must be edited in the catalogue too."""
    rules = _rules()
    notes = {tuple(r["needs"]): r["note"] for r in rules["defaults"]}
    notes["without_card"] = rules["without_card"]["note"]
    assert set(notes) == set(DEFAULT_NOTES)
    for needs, key in DEFAULT_NOTES.items():
        assert render(key, {}, "en") == notes[needs]
    assert set(NATIVE_WHY) == set(rules["native"])
    for dtype, key in NATIVE_WHY.items():
        assert render(key, {}, "en") == rules["native"][dtype]["why"]
    assert len(REQUIREMENTS) >= 4
    for _, _, key in REQUIREMENTS:
        assert CJK.search(Message(key).render("zh-CN")) and Message(key).render("en")


def test_help_in_chinese_leaves_no_english(cli, monkeypatch):
    monkeypatch.setenv("COLUMNS", "400")  # no line cuts a command in backticks in two
    r = cli("plan", "--help", "--lang", "zh")
    assert r.code == 0
    # argparse's own layout: the usage line, flags, their metavars and choices
    text = r.out.split("\n\n", 1)[1]
    text = re.sub(r"\{[^}]*\}|\b[A-Z_]{2,}\b|\S+\|\S+", " ", text)
    names = [*STRATEGIES, *OPTIMIZERS, *PRECISIONS, *WEIGHT_TYPES, "q_proj", "v_proj", "all-linear"]
    names.append("model")  # the positional argument's name
    assert leftover_english(text, names) == []
    assert "显存" in r.out and "梯度检查点" not in cli("plan", "--help").out


# -- malformed flags ---------------------------------------------------------------------------
def _bad_flag() -> st.SearchStrategy[list[str]]:
    text = st.text(st.characters(codec="utf-8", exclude_categories=("Cs", "Cc")), max_size=12)
    number = st.integers(-(10**9), 10**9).map(str)
    return st.one_of(
        st.tuples(st.just("--batch"), st.integers(-5, 0).map(str)),
        st.tuples(st.just("--seq"), st.sampled_from(["0", "-1", str(1 << 25)])),
        st.tuples(st.just("--tokens"), text.filter(lambda s: not re.fullmatch(r"\s*\d+\s*", s))),
        st.tuples(st.just("--reserve"), st.one_of(text, number).filter(lambda s: s != "0")),
        st.tuples(st.just("--gpus"), st.sampled_from(["0", "9", "-2", "100"])),
        st.tuples(st.just("--grad-accum"), st.sampled_from(["0", "-1", "70000"])),
        st.tuples(st.just("--lora-rank"), number),
        st.tuples(st.just("--gpu"), st.sampled_from([",", " ", "3090,", ",,4090"])),
        st.tuples(st.just("--weight-dtype"), text),
        st.tuples(st.just("--emit"), st.sampled_from(["", " ", "\t"])),
    ).map(list)


@fixture_ok
@given(flag=_bad_flag())
def test_malformed_plan_flags_are_one_chinese_line(cli, flag):
    extra = ["--method", "lora"] if flag[0] == "--lora-rank" else []
    if flag[0] == "--weight-dtype":
        extra = ["--task", "infer"]
    r = cli("plan", "llama-3.2-1b", *extra, f"{flag[0]}={flag[1]}", "--lang", "zh")
    if r.code == 0:  # a value that is fine after all (--reserve 0.5, --lora-rank 8)
        return
    one_line(r)
    said = r.err.split("：", 1)[1]
    assert CJK.search(said), r.err
    names = [flag[1], *flag[1].split(), *WEIGHT_TYPES, *ALIASES]  # the types it lists
    assert leftover_english(said, names) == [], r.err


@pytest.mark.parametrize(
    "args",
    [
        ["--method", "qlora", "--precision", "fp32"],
        ["--task", "infer", "--method", "lora"],
        ["--task", "infer", "--grad-checkpointing"],
        ["--lora-targets", "q_proj"],
        ["--method", "lora", "--lora-targets", "nope"],
        ["--method", "lora", "--lora-targets", "all-linear,q_proj"],
        ["--seq", "999999"],
        ["--strategy", "zero3", "--gpus", "2", "--optimizer", "adafactor"],
        ["--strategy", "zero2-offload", "--optimizer", "adamw-8bit"],
        ["--strategy", "fsdp-hybrid", "--gpus", "4", "--shard-size", "3"],
        ["--shard-size", "2"],
        ["--gpus", "2", "--strategy", "single"],
        ["--task", "infer", "--gpus", "2"],
        ["--task", "infer", "--grad-accum", "2"],
        ["--gpus", "2", "--strategy", "zero3", "--method", "qlora"],
        ["--task", "infer", "--emit", "out"],
    ],
)
def test_refused_workloads_are_one_chinese_line(cli, args):
    en = cli("plan", "llama-3.2-1b", *args)
    zh = cli("plan", "llama-3.2-1b", *args, "--lang", "zh")
    one_line(en)
    one_line(zh)
    said = zh.err.split("：", 1)[1]
    assert CJK.search(said) and zh.err != en.err
    names = ["llama-3.2-1b", "llama", *args, *STRATEGIES, *OPTIMIZERS, *METHODS]
    assert leftover_english(said, names) == [], zh.err


def test_a_broken_translation_is_found(monkeypatch, cli):
    """The checks above are not vacuous: a Chinese message left in English is found."""
    from gpuwise.i18n import message

    zh = dict(message.catalogue("zh-CN", "advice"))
    zh["advice.ckpt"] = "gradient checkpointing"
    monkeypatch.setitem(message._loaded, ("zh-CN", "advice"), zh)
    args = SPREAD[4][1]
    doc = plan(cli, args, "--json").json()
    out = plan(cli, args, "--lang", "zh").out
    assert leftover_english(out, data_words(doc)) == ["gradient", "checkpointing"]
    assert (
        json.loads(plan(cli, args, "--json", "--lang", "zh").out)["advice"]["fits_alone"][0][
            "change"
        ]
        == "gradient checkpointing"
    )


# -- a saved bench -----------------------------------------------------------------------------
def _bench(bf16: str, date: str = '"2026-12-01"') -> str:
    return (
        f'{{"kind": "gpuwise-bench", "date": {date}, "device": "cuda", '
        '"card": {"name": "GeForce RTX 4090", "slug": "rtx-4090"}, '
        f'"matmul": [{{"dtype": "bf16", "fraction_of_spec": {bf16}}}], '
        '"bandwidth": [{"kind": "device copy", "fraction_of_spec": 0.5}]}'
    )


@pytest.mark.parametrize("text", [_bench("99"), _bench("0.5", date="7"), "[1", "{}"])
def test_an_unreadable_bench_is_one_chinese_warning(cli, tmp_path, monkeypatch, text):
    monkeypatch.setenv("GPUWISE_BENCH_DIR", str(tmp_path))
    (tmp_path / "rtx-4090.json").write_text(text)
    r = cli("plan", "gpt2", "--gpu", "4090", "--no-search", "--json", "--lang", "zh")
    assert r.code == 0 and r.err.count("\n") == 1 and r.err.startswith("gpuwise：警告："), r.err
    names = [str(tmp_path / "rtx-4090.json"), "matmul", "device copy", "kind", "date"]
    assert leftover_english(r.err, names) == [], r.err


def test_a_calibrated_plan_says_so_in_chinese(cli, tmp_path, monkeypatch):
    monkeypatch.setenv("GPUWISE_BENCH_DIR", str(tmp_path))
    (tmp_path / "rtx-4090.json").write_text(_bench("0.2"))
    args = ["gpt2", "--gpu", "4090", "--no-search"]
    doc = plan(cli, args, "--json").json()
    notes = plan(cli, args, "--json", "--lang", "zh").json()["cards"][0]["time"]["notes"]
    assert any("已按你 2026-12-01 的实测" in n for n in notes), notes
    path = str(tmp_path / "rtx-4090.json")
    assert leftover_english("\n".join(notes), [*data_words(doc), path]) == []
