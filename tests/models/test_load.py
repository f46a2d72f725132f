"""Naming a model every way a user can, and the presets against what transformers builds."""

from __future__ import annotations

import json

import pytest

from gpuwise.errors import GpuwiseError
from gpuwise.models import load_model, preset_names
from gpuwise.models.resolve import preset_index

GPT2 = {
    "model_type": "gpt2",
    "n_embd": 64,
    "n_layer": 2,
    "n_head": 4,
    "vocab_size": 100,
    "n_positions": 32,
}


def test_config_file_and_folder(tmp_path):
    folder = tmp_path / "tiny-gpt2"
    folder.mkdir()
    (folder / "config.json").write_text(json.dumps(GPT2))
    by_file = load_model(str(folder / "config.json"))
    by_folder = load_model(str(folder))
    assert by_file.params == by_folder.params > 0
    assert by_folder.name == "tiny-gpt2"


def test_folder_without_config(tmp_path):
    with pytest.raises(GpuwiseError, match=r"no config\.json"):
        load_model(str(tmp_path))


def test_hf_cache_lookup(tmp_path, monkeypatch):
    snap = tmp_path / "models--acme--tiny" / "snapshots" / "abc123"
    snap.mkdir(parents=True)
    (snap / "config.json").write_text(json.dumps(GPT2))
    (tmp_path / "models--acme--tiny" / "refs").mkdir()
    (tmp_path / "models--acme--tiny" / "refs" / "main").write_text("abc123")
    monkeypatch.setenv("HF_HUB_CACHE", str(tmp_path))
    spec = load_model("acme/tiny")
    assert spec.model_type == "gpt2" and "Hugging Face cache" in str(spec.source)


def test_hf_id_not_cached_says_where_it_looked(tmp_path, monkeypatch):
    monkeypatch.setenv("HF_HUB_CACHE", str(tmp_path))
    with pytest.raises(GpuwiseError, match="not in the local Hugging Face cache"):
        load_model("acme/absent")


def test_preset_by_alias_and_hf_id():
    entry = preset_index()["llama-3.1-8b"]
    assert load_model(entry["hf_id"]).params == load_model("llama-3.1-8b").params
    for alias in entry.get("aliases", []):
        assert load_model(alias).name == "llama-3.1-8b"


@pytest.mark.parametrize(
    "size,low,high",
    [
        ("7b", 6.3e9, 7.7e9),
        ("70B", 63e9, 77e9),
        ("1.5b", 1.35e9, 1.65e9),
        ("350m", 0.3e9, 0.4e9),
        ("13b", 11.7e9, 14.3e9),
        ("30b", 27e9, 33e9),
    ],
)
def test_bare_size_is_close_and_states_its_assumption(size, low, high):
    spec = load_model(size)
    assert low <= spec.params <= high
    assert spec.assumptions and "assumed the shapes of" in str(spec.assumptions[0])


@pytest.mark.parametrize("name", ["0b", "20000b", "llama-99b-ultra", ""])
def test_unknown_names_are_one_line_errors(name):
    with pytest.raises(GpuwiseError) as e:
        load_model(name)
    assert "\n" not in str(e.value)


def test_remote_code_is_refused_without_the_flag(tmp_path):
    path = tmp_path / "config.json"
    path.write_text(
        json.dumps(
            {"model_type": "acme_secret", "auto_map": {"AutoModel": "x.Y"}, "hidden_size": 8}
        )
    )
    with pytest.raises(GpuwiseError, match="--trust-remote-code"):
        load_model(str(path))


def test_every_preset_has_a_source_and_loads():
    names = preset_names()
    assert len(names) >= 19
    for name in names:
        entry = preset_index()[name]
        assert entry["source"]["url"].startswith("https://"), name
        spec = load_model(name)
        assert spec.params > 0 and str(spec.counted_by) == "gpuwise rules", name


# Exact totals published by the model authors (Pythia's README table gives the exact count;
# GPT-2 124,439,808 and BERT-base 109,482,240 are the counts transformers' own docs and the
# model pages report).
@pytest.mark.parametrize(
    "name,params",
    [("pythia-1.4b", 1_414_647_808), ("gpt2", 124_439_808), ("bert-base-uncased", 109_482_240)],
)
def test_presets_match_published_exact_counts(name, params):
    assert load_model(name).params == params


@pytest.mark.parametrize(
    "name,rounded",
    [
        ("llama-3.1-8b", 8.03e9),
        ("llama-3.1-70b", 70.6e9),
        ("mixtral-8x7b", 46.7e9),
        ("deepseek-v3", 671e9),
        ("qwen3-30b-a3b", 30.5e9),
        ("qwen2.5-7b", 7.62e9),
    ],
)
def test_presets_match_published_rounded_counts(name, rounded):
    assert load_model(name).params == pytest.approx(rounded, rel=0.002)


def test_moe_active_params():
    # Mixtral 8x7B: "12.9B active parameters" (Mistral AI); Qwen3-30B-A3B: 3.3B activated.
    assert load_model("mixtral-8x7b").active_params == pytest.approx(12.9e9, rel=0.01)
    assert load_model("qwen3-30b-a3b").active_params == pytest.approx(3.3e9, rel=0.03)
    assert load_model("deepseek-v3").active_params == pytest.approx(37e9, rel=0.02)


def test_bert_trains_the_masked_lm_model():
    spec = load_model("bert-base-uncased")
    assert spec.kind == "encoder"
    # MLM head: transform dense (768x768 + 768) + LayerNorm (2x768) + output bias (vocab),
    # decoder tied to the word embeddings; the pooler (768x768 + 768) is not trained.
    assert spec.trained_params - spec.params == 768 * 2 + 30522 + 768 * 768 + 768 - (
        768 * 768 + 768
    )
