"""`gpuwise serve` and its page in Chinese: help, its errors, the API's own refusals and the
page's labels leave no English prose but names, flags and what the user typed."""

from __future__ import annotations

import pytest

from tests.i18n.checks import leftover_english

pytest.importorskip("starlette", reason="the web extra (starlette) is not installed")


def test_serve_help_in_chinese(cli):
    got = cli("serve", "--help", "--lang", "zh")
    assert got.code == 0
    assert leftover_english(got.out, ["gpuwise", "serve", "PORT", "HOST", "zh|en"]) == []
    assert "监听" in got.out


@pytest.mark.parametrize(
    ("command", "fields"),
    [
        ("plan", [("catalog", "x.json")]),
        ("plan", [("colour", "red")]),
        ("plan", [("grad-checkpointing", "maybe")]),
        ("model", [("model", "/etc/hostname")]),
        ("doctor", [("driver", "535.104")]),
        ("nope", []),
    ],
)
def test_the_apis_own_refusals_in_chinese(command, fields):
    from gpuwise.web import api

    answer = api.answer(command, fields, "zh-CN")
    import json

    message = json.loads(answer.text)["error"]["message"]
    names = [v for _, v in fields] + [k for k, _ in fields] + [command]
    names += list(api.fields_of("plan")) + list(api.fields_of("model")) + api.served()
    assert leftover_english(message, names) == [], message
    assert any("\u4e00" <= c <= "\u9fff" for c in message)


def test_the_pages_labels_in_chinese():
    from gpuwise.web.page import page_messages

    said = page_messages("zh-CN")
    text = "\n".join(v if isinstance(v, str) else v["other"] for v in said.values())
    names = [
        "gpuwise",
        "config.json",
        "llama-3.1-8b",
        "{value}",
        "7b",
        "3090",
        "4090",
        "a100-80gb",
        "{name}",
        "{card}",
        "ollama",  # the engine's name, as its users type it
        # the scatter's placeholders: a currency code and figures
        "{currency}",
        "{needed}",
        "{usable}",
        "{speed}",
        "{cost}",
        "{params}",  # the model line: a count and the model's type
        "{type}",
    ]
    assert leftover_english(text, names) == []
    english = page_messages("en")
    assert said.keys() == english.keys()
    assert all(said[k] != english[k] for k in said if k not in ("web.page.col_rank",))
