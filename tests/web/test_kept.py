"""What `gpuwise serve` keeps between requests (the catalogue, models presets and sizes name),
and that what it answers stays the command line's document byte for byte."""

from __future__ import annotations

import json
import os

import pytest

pytest.importorskip("starlette", reason="the web extra (starlette) is not installed")

from gpuwise import catalog, models
from gpuwise.web import api
from tests.web.asgi import call


@pytest.fixture
def keeping():
    """Keeping on for the test (as during a request), off again after it."""
    before = catalog.keep_loaded(True), models.keep_loaded(True)
    yield
    catalog.keep_loaded(before[0])
    models.keep_loaded(before[1])


def test_kept_only_while_a_request_is_answered():
    # the command line (and every test outside a request) loads afresh each time
    assert catalog.keep_loaded(False) is False and models.keep_loaded(False) is False
    assert models.load_model("qwen2.5-7b") is not models.load_model("qwen2.5-7b")
    assert catalog.load_catalog() is not catalog.load_catalog()
    assert api.answer("plan", [("model", "qwen2.5-7b"), ("gpu", "3090")]).status == 200
    assert catalog.keep_loaded(False) is False and models.keep_loaded(False) is False


def test_a_preset_or_a_size_is_loaded_once_while_kept(keeping):
    assert models.load_model("qwen2.5-7b") is models.load_model("qwen2.5-7b")
    assert models.load_model("7b") is models.load_model("7b")
    assert models.load_model("7b") is not models.load_model("13b")
    first = catalog.load_catalog()
    assert first is catalog.load_catalog()
    assert first.find("3090") is catalog.load_catalog().find("3090")


def test_a_config_file_is_read_again_while_kept(keeping, tmp_path):
    from gpuwise.models.resolve import preset_index
    from gpuwise.packaged import packaged_text

    config = json.loads(
        packaged_text("gpuwise.models", f"presets/{preset_index()['qwen2.5-7b']['file']}")
    )
    path = tmp_path / "config.json"
    path.write_text(json.dumps(config))
    before = models.load_model(str(path))
    config["num_hidden_layers"] = 2
    path.write_text(json.dumps(config))
    assert models.load_model(str(path)).num_layers == 2 != before.num_layers


def test_a_changed_user_card_file_is_read_again(keeping, tmp_path, monkeypatch):
    path = tmp_path / "cards.json"
    monkeypatch.setenv("GPUWISE_CATALOG", str(path))
    for price in (650, 700, 710):  # same size each time: the file's times and inode tell
        path.write_text(json.dumps({"cards": [{"slug": "rtx-3090", "launch_price_usd": price}]}))
        os.utime(path, ns=(price * 10**9, price * 10**9))
        assert catalog.load_catalog().find("3090").launch_price_usd == price


def test_the_same_request_again_is_the_command_lines_document_byte_for_byte(cli):
    from gpuwise.web.app import create_app

    app = create_app()
    plan = [("model", "llama-3.1-8b"), ("method", "qlora"), ("gpu", "3090"), ("gpu", "4090")]
    words = ["plan", "llama-3.1-8b", "--method", "qlora", "--gpu", "3090", "--gpu", "4090"]
    recommend = [("model", "qwen2.5-7b"), ("method", "lora"), ("budget", "3000"), ("top", "5")]
    r_words = ["recommend", "qwen2.5-7b", "--method", "lora", "--budget", "3000", "--top", "5"]
    for lang in ("en", "zh", "en", "zh"):  # the second round from what the first kept
        for fields, line in ((plan, words), (recommend, r_words)):
            printed = cli(*line, "--json", "--lang", lang)
            assert printed.code == 0, printed.err
            got = call(app, f"/api/{line[0]}", [*fields, ("lang", lang)])
            assert got.status == 200, got.body
            assert got.body.decode().strip() == printed.out.strip()
