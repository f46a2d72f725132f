"""A model named by a file, a folder or a cached Hugging Face id: whatever is there, one line
and exit 2, never a traceback, a hang or a silently wrong count.

Issue 11, hardening items 4, 5 and 6: hostile JSON in config.json (deep nesting, 5,000-digit
integers, NaN, numbers beyond a double), names over 255 characters, ``~user`` and a missing home
folder, FIFOs where a config should be (also through the HF-cache lookup), a ``refs/main`` that
points outside the cache, and MoE top-k above the expert count.
"""

from __future__ import annotations

import importlib
import json
import os
import pwd

import pytest
from hypothesis import given
from hypothesis import strategies as st

from gpuwise.models.resolve import resolve

from ..bounded import gpuwise_process
from ..checks import fixture_ok, one_line

#: MoE presets and the config key that holds their expert count.
MOE = {
    "mixtral-8x7b": "num_local_experts",
    "qwen1.5-moe-a2.7b": "num_experts",
    "qwen3-30b-a3b": "num_experts",
    "deepseek-v3": "n_routed_experts",
}


def config_text(preset: str) -> str:
    return json.dumps(resolve(preset).config)


@pytest.mark.parametrize(
    ("value", "says"),
    [
        ("[" * 100_000 + "]" * 100_000, "nested deeper"),
        ("1" * 5000, "5000 digits"),
        ("NaN", "NaN"),
        ("-Infinity", "Infinity"),
        ("1e400", "64-bit float"),
        ('"\\udc00"', "surrogate"),
    ],
)
def test_hostile_json_in_a_config_is_one_line(cli, tmp_path, value, says):
    path = tmp_path / "config.json"
    path.write_text('{"model_type": "llama", "hidden_size": ' + value + "}")
    one_line(cli("model", str(path), "--json"), says)
    one_line(cli("plan", str(tmp_path), "--gpu", "3090", "--json"), says)


def test_model_names_over_255_characters_are_one_line(cli, tmp_path):
    one_line(cli("model", "m" * 300), "unknown model", "300 characters")
    one_line(cli("plan", str(tmp_path / ("m" * 300)), "--gpu", "3090"), "no such file")


def test_a_home_folder_that_cannot_be_found_is_no_traceback(cli, monkeypatch):
    monkeypatch.delenv("HOME", raising=False)
    for var in ("XDG_CACHE_HOME", "HF_HOME", "HF_HUB_CACHE"):
        monkeypatch.delenv(var, raising=False)

    def no_entry(uid):
        raise KeyError(uid)

    monkeypatch.setattr(pwd, "getpwuid", no_entry)
    one_line(cli("model", "~/config.json"), "no such file")
    one_line(cli("model", "some-org/some-model"), "not in the local Hugging Face cache")


def test_a_user_that_does_not_exist_is_no_traceback(cli):
    one_line(cli("model", "~no-such-user-here/config.json"), "no such file")


def test_a_config_over_the_limit_is_refused(cli, tmp_path, monkeypatch):
    resolve_module = importlib.import_module("gpuwise.models.resolve")
    path = tmp_path / "config.json"
    path.write_text(config_text("gpt2"))
    monkeypatch.setattr(resolve_module, "MAX_CONFIG_BYTES", path.stat().st_size - 1)
    one_line(cli("model", str(path)), "limit")


def test_a_device_or_fifo_named_as_a_config_is_refused(tmp_path):
    """Their own processes, bounded: a plain read of a FIFO waits for a writer for ever, one of
    /dev/zero reads until memory runs out."""
    fifo = tmp_path / "config.json"
    os.mkfifo(fifo)
    cases = [(str(fifo), "FIFO"), (str(tmp_path), "FIFO")]  # the folder's config.json
    if os.path.exists("/dev/zero"):
        cases.append(("/dev/zero", "device"))
    assert len(cases) >= 2
    for name, says in cases:
        r = gpuwise_process("model", name)
        assert r.returncode == 2 and "Traceback" not in r.stderr, r.stderr
        assert r.stderr.count("\n") == 1 and says in r.stderr, r.stderr


def _hf_cache(tmp_path, repo: str = "org/tiny") -> tuple[str, object]:
    cache = tmp_path / "hub"
    folder = cache / ("models--" + repo.replace("/", "--"))
    (folder / "snapshots" / "abc123").mkdir(parents=True)
    (folder / "refs").mkdir()
    return str(cache), folder


def test_a_fifo_found_through_the_hf_cache_does_not_hang(tmp_path):
    cache, folder = _hf_cache(tmp_path)
    os.mkfifo(folder / "snapshots" / "abc123" / "config.json")
    r = gpuwise_process("model", "org/tiny", env={"HF_HUB_CACHE": cache}, timeout=30)
    assert r.returncode == 2 and "Traceback" not in r.stderr, r.stderr
    assert r.stderr.count("\n") == 1 and "FIFO" in r.stderr


def test_refs_main_cannot_lead_outside_the_snapshots(cli, tmp_path, monkeypatch):
    cache, folder = _hf_cache(tmp_path)
    (folder / "snapshots" / "abc123" / "config.json").write_text(config_text("llama-3.2-1b"))
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    (elsewhere / "config.json").write_text(config_text("gpt2"))
    (folder / "refs" / "main").write_text("../../../elsewhere")
    monkeypatch.setenv("HF_HUB_CACHE", cache)
    r = cli("model", "org/tiny", "--json")
    assert r.code == 0, r.err
    assert r.json()["model_type"] == "llama"  # the snapshot, not the file the ref pointed at
    (folder / "refs" / "main").write_text("abc123\n")
    assert cli("model", "org/tiny", "--json").json()["model_type"] == "llama"


def test_a_long_hf_id_with_a_cache_present_is_one_line(cli, tmp_path, monkeypatch):
    cache, _ = _hf_cache(tmp_path)
    monkeypatch.setenv("HF_HUB_CACHE", cache)
    one_line(cli("model", "org/" + "n" * 300), "not in the local Hugging Face cache")


@fixture_ok
@given(preset=st.sampled_from(sorted(MOE)), extra=st.integers(1, 10_000))
def test_moe_top_k_above_the_expert_count_is_refused(cli, tmp_path, preset, extra):
    config = resolve(preset).config
    experts = config[MOE[preset]]
    path = tmp_path / "config.json"
    path.write_text(json.dumps({**config, "num_experts_per_tok": experts + extra}))
    one_line(cli("model", str(path), "--json"), "num_experts_per_tok", MOE[preset])


@fixture_ok
@given(preset=st.sampled_from(sorted(MOE)), data=st.data())
def test_moe_top_k_up_to_the_expert_count_is_counted(cli, tmp_path, preset, data):
    config = resolve(preset).config
    experts = config[MOE[preset]]
    k = data.draw(st.integers(1, experts))
    path = tmp_path / "config.json"
    path.write_text(json.dumps({**config, "num_experts_per_tok": k}))
    r = cli("model", str(path), "--json")
    assert r.code == 0, r.err
    doc = r.json()
    assert doc["shapes"]["num_experts_per_tok"] == k
    assert doc["active_params"] <= doc["params"]
