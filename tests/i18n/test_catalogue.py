"""The message catalogue: both languages say every message, with the same placeholders, in the
terms of the glossary, and Chinese leaves no English prose; every key the code names exists and
every message is used."""

from __future__ import annotations

import argparse
import ast
import inspect
import json
import re
from pathlib import Path

import pytest

import gpuwise
from gpuwise.catalog.features import feature_rules
from gpuwise.cli.lang import ARGPARSE_WORDS
from gpuwise.cli.main import COMMANDS
from gpuwise.errors import GpuwiseError
from gpuwise.i18n import LANGUAGES, Message, render, use
from gpuwise.models import load_model
from gpuwise.models.spec import PARTS
from gpuwise.render.card_tables import _CARD_ROWS, _GPUS_COLUMNS, _SERIES
from gpuwise.render.model_json import model_doc

from .checks import glossary, leftover_english

PACKAGE = Path(gpuwise.__file__).parent
MESSAGES = PACKAGE / "i18n" / "messages"
_NAMED = re.compile(r"\{([A-Za-z_][A-Za-z0-9_]*)\}")
_PERCENT = re.compile(r"%\((\w+)\)[sr]|%[sr]")


def area_files(language: str) -> list[Path]:
    return sorted((MESSAGES / language).glob("*.json"))


def raw(language: str) -> dict:
    """Every message of ``language``, area by area in name order."""
    out: dict = {}
    for path in area_files(language):
        out.update(json.loads(path.read_text(encoding="utf-8")))
    return out


EN, ZH = raw("en"), raw("zh-CN")


def forms(entry: str | dict) -> list[str]:
    return list(entry.values()) if isinstance(entry, dict) else [entry]


def placeholders(template: str) -> list[str]:
    text = template.replace("{{", "").replace("}}", "")
    return sorted(_NAMED.findall(text) + [m.group() for m in _PERCENT.finditer(text)])


def test_both_languages_have_every_message_in_the_same_order():
    assert LANGUAGES == ("en", "zh-CN")
    assert [p.name for p in area_files("en")] == [p.name for p in area_files("zh-CN")]
    assert list(EN) == list(ZH), "en/ and zh-CN/ list other keys, or in another order"


@pytest.mark.parametrize("language", LANGUAGES)
def test_each_message_is_in_the_file_of_its_area(language):
    paths = area_files(language)
    assert paths
    for path in paths:
        keys = json.loads(path.read_text(encoding="utf-8"))
        assert keys, path
        assert {key.partition(".")[0] for key in keys} == {path.stem}, path


@pytest.mark.parametrize("key", list(EN))
def test_every_form_has_the_placeholders_of_the_english(key):
    en, zh = EN[key], ZH[key]
    assert forms(en) and forms(zh), key
    if isinstance(en, dict):
        assert set(en) == {"one", "other"}, key
    if isinstance(zh, dict):
        assert "other" in zh and set(zh) <= {"one", "other"}, key
    wanted = placeholders(forms(en)[-1])
    for template in forms(en) + forms(zh):
        assert placeholders(template) == wanted, (key, template)


@pytest.mark.parametrize("key", list(EN))
def test_every_template_is_well_formed(key):
    """Braces only as {name} or doubled: a stray one would print wrong or fail to render."""
    assert all(forms(raw(language)[key]) for language in LANGUAGES)
    for language in LANGUAGES:
        for template in forms(raw(language)[key]):
            rest = _NAMED.sub("", template.replace("{{", "").replace("}}", ""))
            assert "{" not in rest and "}" not in rest, (language, key, template)
            if key.startswith("argparse."):
                assert not _NAMED.search(template), "argparse fills %-placeholders only"


def _zh_words_left(key: str) -> list[str]:
    left = []
    for template in forms(ZH[key]):
        filled = _PERCENT.sub("X", _NAMED.sub("X", template.replace("{{", "(").replace("}}", ")")))
        left += leftover_english(filled)
    return left


@pytest.mark.parametrize("key", list(ZH))
def test_chinese_messages_leave_no_english_prose(key):
    assert _zh_words_left(key) == [], ZH[key]


def test_the_english_check_finds_english_prose():
    """The check above is not vacuous: an English sentence, or one English word in Chinese,
    is found; names, flags, units and quoted input are not."""
    assert leftover_english("显存不足，need more memory") == ["need", "more", "memory"]
    assert leftover_english("请给出 Card 名") == ["Card"]
    assert leftover_english("'RTX 40' `gpuwise gpus` --lang 24 GB GiB CUDA PyTorch x_y a/b") == []


def _boundary(term: str) -> re.Pattern[str]:
    """``term`` as a word of prose, not part of an identifier (config.json, --download)."""
    return re.compile(rf"(?<![\w.$/-]){re.escape(term)}(?![\w-]|\.\w)", re.IGNORECASE)


def test_chinese_messages_use_the_glossarys_terms():
    terms, _ = glossary()
    assert len(terms) >= 40
    wrong = []
    for english, chinese, elsewhere in terms:
        excused = set(re.findall(r"`([^`]+)`", elsewhere))
        pattern = _boundary(english)
        for key in EN:
            if key in excused or key.startswith(("argparse.", "os.", "json.")):
                continue
            says_it = any(pattern.search(_NAMED.sub("", f)) for f in forms(EN[key]))
            if says_it and not all(chinese in f for f in forms(ZH[key])):
                wrong.append(f"{key}: '{english}' is not said '{chinese}': {ZH[key]}")
    assert not wrong, "\n".join(wrong)


# -- the keys the code names ---------------------------------------------------------------
_CALLS = {"Message", "t", "help_text", "render", "known"}


def _named_keys() -> tuple[set[str], set[str]]:
    """(every key given as a string to Message / t / help_text / render, every prefix of a
    key given as an f-string), over the whole package."""
    literal, dynamic = set(), set()
    for path in PACKAGE.rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if not isinstance(node, ast.Call) or not node.args:
                continue
            name = getattr(node.func, "id", getattr(node.func, "attr", None))
            first = node.args[0]
            if name not in _CALLS:
                continue
            if isinstance(first, ast.Constant) and isinstance(first.value, str):
                if "." in first.value and " " not in first.value:
                    literal.add(first.value)
            elif isinstance(first, ast.JoinedStr) and isinstance(first.values[0], ast.Constant):
                dynamic.add(first.values[0].value)
    return literal, dynamic


def _families() -> dict[str, set[str]]:
    """Each prefix the code completes at run time, with every ending it can take."""
    shapes = model_doc(load_model("deepseek-v3"))["shapes"]
    return {
        "cli.command.": set(COMMANDS),
        "gpus.col.": set(_GPUS_COLUMNS),
        "gpu.row.": {key for key, _ in _CARD_ROWS},
        "feature.": {rule.id for rule in feature_rules()},
        "model.shape.": set(shapes),
        "model.part.": set(PARTS),
        "model.value.mlp.": {"gated", "plain"},
    }


def test_every_key_the_code_names_is_in_the_catalogue():
    literal, dynamic = _named_keys()
    families = _families()
    assert len(literal) > 150
    missing = sorted(k for k in literal if k not in EN and k.count(".") >= 1)
    assert not [k for k in missing if not k.endswith(".")], missing
    unknown = dynamic - set(families) - {"os.", "json."}
    assert not unknown, f"declare these key families in _families(): {sorted(unknown)}"
    for prefix, endings in families.items():
        absent = sorted(e for e in endings if f"{prefix}{e}" not in EN)
        assert not absent, f"{prefix}*: no message for {absent}"


def test_every_message_is_used():
    source = "\n".join(p.read_text(encoding="utf-8") for p in PACKAGE.rglob("*.py"))
    families = _families()
    used_by_family = {f"{p}{e}" for p, endings in families.items() for e in endings}
    unused = [
        key
        for key in EN
        if f'"{key}"' not in source
        and key not in used_by_family
        and key not in ARGPARSE_WORDS.values()
        and not key.startswith(("os.", "json."))  # found by their English words (known())
    ]
    assert not unused, f"messages nothing says: {unused}"
    assert set(_SERIES.values()) <= set(EN)


def test_feature_labels_are_the_rule_files():
    rules = feature_rules()
    assert len(rules) >= 10
    for rule in rules:
        assert EN[f"feature.{rule.id}"] == rule.label


def test_argparse_words_are_the_ones_argparse_asks_for():
    for english, key in ARGPARSE_WORDS.items():
        assert EN[key] == english
    assert {k for k in EN if k.startswith("argparse.")} == set(ARGPARSE_WORDS.values())
    said = set(re.findall(r"\b_\('((?:[^'\\]|\\.)*)'\)", inspect.getsource(argparse)))
    said |= set(re.findall(r"ngettext\('([^']*)',\s*'([^']*)'", inspect.getsource(argparse))[0])
    # what only a programmer building a parser wrongly would see
    for_programmers = {
        w
        for w in said
        if any(
            s in w
            for s in (
                "conflicting",
                "__call__",
                "mode %r",
                "merge actions",
                "'required'",
                "option string %(option)r",
                "dest=",
                "conflict_resolution",
                "mutually exclusive",
                "multiple subparser",
                "is not callable",
                "%(prog)s: error",
                "subcommands",
                "deprecated",
                "%(prog)s: warning",
            )
        )
    }
    assert said - for_programmers <= set(ARGPARSE_WORDS), (
        said - for_programmers - set(ARGPARSE_WORDS)
    )


# -- rendering -------------------------------------------------------------------------------
def test_a_message_is_said_in_the_language_asked_and_its_parts_too():
    inner = Message("models.source.size", size="7b")
    outer = Message("models.not_kept", reason=inner)
    assert outer.render("en") == "not kept for the next run: size 7b"
    assert outer.render("zh-CN") == "未能保存以供下次使用：规模 7b"
    assert render("gpus.title", {"count": 1, "date": "d"}, "en") == "1 card (catalogue of d)"
    assert render("gpus.title", {"count": 3, "date": "d"}, "en") == "3 cards (catalogue of d)"
    assert render("gpus.title", {"count": 1, "date": "d"}, "zh-CN") == "1 张显卡（目录日期 d）"


def test_an_error_is_english_for_str_and_the_users_language_for_text():
    e = GpuwiseError(Message("catalog.empty_series"))
    before = use("zh-CN")
    try:
        assert str(e) == "--series '' names no series; give text like 'RTX 40'"
        assert e.text() == "--series '' 没有指明系列；请给出像 'RTX 40' 这样的文字"
        assert str(GpuwiseError("plain text")) == GpuwiseError("plain text").text() == "plain text"
    finally:
        use(before)


def test_a_message_missing_from_chinese_is_said_in_english(monkeypatch):
    from gpuwise.i18n import message

    monkeypatch.setitem(message._loaded, ("zh-CN", "catalog"), {})
    assert render("catalog.empty_series", {}, "zh-CN").startswith("--series '' names no series")
