"""Which language a command speaks: ``--lang`` (anywhere on the line, last one wins), else the
locale; a language gpuwise does not speak is one line for ``--lang`` and English, silently, for
a locale."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from gpuwise.cli.lang import language_for
from gpuwise.i18n import from_environment, parse_language

from ..checks import command_loads_none_of, fixture_ok, one_line

ZH_TITLE = "张显卡（目录日期"
EN_TITLE = "cards (catalogue of"


def speaks(r) -> str:
    """The language of a ``gpuwise gpus --series 'RTX 40'`` table."""
    assert r.code == 0, r.err
    if ZH_TITLE in r.out:
        return "zh-CN"
    assert EN_TITLE in r.out, r.out[:300]
    return "en"


@pytest.mark.parametrize(
    "args",
    [
        ["--lang", "zh", "gpus"],
        ["gpus", "--lang", "zh"],
        ["gpus", "--lang=zh"],
        ["gpus", "--la", "zh-CN"],
        ["--lang", "en", "gpus", "--lang", "zh"],
        ["gpus", "--lang", "ZH_cn"],
    ],
)
def test_lang_zh_anywhere_on_the_line(cli, args):
    assert speaks(cli(*args, "--series", "RTX 40")) == "zh-CN"


@pytest.mark.parametrize(
    ("env", "language"),
    [
        ({"LANG": "zh_CN.UTF-8"}, "zh-CN"),
        ({"LANG": "zh_TW.UTF-8"}, "zh-CN"),
        ({"LANG": "en_US.UTF-8", "LC_ALL": "zh_CN.UTF-8"}, "zh-CN"),
        ({"LANG": "zh_CN.UTF-8", "LC_ALL": "C"}, "en"),
        ({"LANG": "zh_CN.UTF-8", "LC_MESSAGES": "en_GB.UTF-8"}, "en"),
        ({"LANG": "fr_FR.UTF-8"}, "en"),
        ({"LANG": "de_DE.UTF-8", "LANGUAGE": "fr:zh_CN:en"}, "zh-CN"),
        ({"LANG": "C.UTF-8", "LANGUAGE": "zh_CN"}, "en"),  # gettext: C ignores LANGUAGE
        ({}, "en"),
    ],
)
def test_the_locale_picks_the_language(cli, monkeypatch, env, language):
    for variable, value in env.items():
        monkeypatch.setenv(variable, value)
    if "LANG" not in env:
        monkeypatch.delenv("LANG")
    assert speaks(cli("gpus", "--series", "RTX 40")) == language


def test_lang_beats_the_locale(cli, monkeypatch):
    monkeypatch.setenv("LC_ALL", "zh_CN.UTF-8")
    assert speaks(cli("gpus", "--series", "RTX 40", "--lang", "en")) == "en"


@fixture_ok
@given(value=st.text(max_size=12))
def test_a_language_gpuwise_does_not_speak_is_one_line_naming_zh_and_en(cli, value):
    """Any --lang value: a language gpuwise speaks answers in it; any other is one line on
    stderr naming --lang, zh and en, exit 2, nothing on stdout."""
    r = cli("gpus", "--series", "RTX 40", f"--lang={value}")
    wanted = parse_language(value)
    if wanted is None:
        one_line(r, "--lang", "zh", "en")
        assert r.out == ""
    else:
        assert speaks(r) == wanted


@fixture_ok
@given(locale=st.text(max_size=20).filter(lambda s: "\0" not in s and "=" not in s))
def test_any_locale_answers_without_a_word_about_it(cli, monkeypatch, locale):
    """A locale gpuwise does not know is English, silently: exit 0, nothing on stderr."""
    monkeypatch.setenv("LC_ALL", locale)
    r = cli("gpus", "--series", "RTX 40")
    assert r.err == ""
    assert speaks(r) == from_environment({"LC_ALL": locale})


@given(st.sampled_from(["zh", "zh_CN.UTF-8", "zh_SG", "zh-Hans", "zh_HK.Big5", "zh"]))
def test_every_chinese_locale_is_chinese(locale):
    assert from_environment({"LANG": locale}) == "zh-CN"


@given(st.sampled_from(["C", "POSIX", "C.UTF-8", "en_US.UTF-8", "fr_FR", "ja_JP.UTF-8", "", "zz"]))
def test_other_locales_are_english(locale):
    assert from_environment({"LANG": locale}) == "en"


def test_the_last_usable_lang_wins_and_a_bad_one_is_left_to_argparse():
    assert language_for(["--lang", "zh", "gpus", "--lang", "en"], {}) == "en"
    assert language_for(["gpus", "--lang", "fr"], {"LANG": "zh_CN.UTF-8"}) == "zh-CN"
    assert language_for(["model", "--", "--lang", "zh"], {}) == "en"  # after --: a name


def test_a_bad_lang_is_said_in_the_locales_language(cli, monkeypatch):
    monkeypatch.setenv("LANG", "zh_CN.UTF-8")
    r = cli("gpus", "--lang", "fr")
    one_line(r, "--lang", "zh", "en", "不支持的语言")


@pytest.mark.parametrize(
    "args",
    [
        ["--lang", "zh", "gpus", "--json"],
        ["gpu", "3090", "--json", "--lang", "zh"],
        ["model", "src/gpuwise/models/presets/llama-3.1-8b.json", "--json", "--lang", "zh"],
    ],
)
def test_chinese_json_answers_load_nothing_slow(args):
    """``--lang zh`` before the command keeps the one-command fast path (the command is not
    mistaken for the value of --lang)."""
    from ..cli.test_cli import SLOW_TO_IMPORT

    command_loads_none_of(args, (*SLOW_TO_IMPORT, "gpuwise.plan", "gpuwise.cli.recommend"))


@pytest.mark.parametrize("language", ["en", "zh"])
def test_a_json_answer_reads_no_catalogue_it_does_not_need(cli, language):
    """gpus and gpu --json hold no prose: no message catalogue is read, in either language
    (help texts are rendered only when help is shown)."""
    from gpuwise.i18n import message

    message._loaded.clear()
    assert cli("gpus", "--json", "--lang", language).code == 0
    assert cli("gpu", "3090", "--json", "--lang", language).code == 0
    assert message._loaded == {}
