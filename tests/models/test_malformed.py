"""Malformed configs never crash and never give a silently wrong number.

Property: for any mutation of a valid config (a field set to a value of the wrong type, a
negative or huge number, a field removed, junk added), ``spec_from_config`` either raises
GpuwiseError with a one-line message, or returns a spec that transformers would agree with.
"""

from __future__ import annotations

import contextlib
import json

from hypothesis import given, settings
from hypothesis import strategies as st

from gpuwise.errors import GpuwiseError
from gpuwise.models.build import spec_from_config
from gpuwise.models.resolve import parse_config_text, preset_names, resolve

from ..checks import json_values

PRESETS = {name: resolve(name).config for name in preset_names()}


def outcome(config) -> str:
    try:
        spec = spec_from_config(config, name="x", source="test", where="config.json")
    except GpuwiseError as e:
        assert "\n" not in str(e) and "config.json" in str(e)
        return "error"
    assert spec.params > 0 and spec.active_params > 0 and spec.trained_params > 0
    assert all(b.count >= 1 and all(d >= 0 for d in b.shape) for b in spec.blocks)
    return "ok"


@settings(max_examples=300, deadline=None)
@given(preset=st.sampled_from(sorted(PRESETS)), key=st.data(), value=json_values)
def test_mutated_field(preset, key, value):
    config = dict(PRESETS[preset])
    field = key.draw(st.sampled_from(sorted(config)))
    config[field] = value
    outcome(config)


@settings(max_examples=150, deadline=None)
@given(preset=st.sampled_from(sorted(PRESETS)), data=st.data())
def test_removed_fields(preset, data):
    config = dict(PRESETS[preset])
    for field in data.draw(st.lists(st.sampled_from(sorted(config)), max_size=4, unique=True)):
        if field != "model_type":
            del config[field]
    # Removing fields falls back to transformers' defaults: a valid model either way.
    assert outcome(config) in ("ok", "error")


@settings(max_examples=200, deadline=None)
@given(text=st.text(max_size=60) | json_values.map(json.dumps))
def test_any_text_as_config(text):
    try:
        config = parse_config_text(text, "config.json")
    except GpuwiseError as e:
        assert "\n" not in str(e)
        return
    with contextlib.suppress(GpuwiseError):
        outcome(config)


def test_named_impossible_numbers():
    base = dict(PRESETS["llama-3.2-1b"])
    for field, value, says in [
        ("num_attention_heads", 0, "num_attention_heads"),
        ("num_key_value_heads", 3, "multiple of"),
        ("hidden_size", -2048, "hidden_size"),
        ("vocab_size", "lots", "vocab_size"),
        ("num_hidden_layers", 2.5, "num_hidden_layers"),
        ("tie_word_embeddings", "yes", "true or false"),
        ("layer_types", ["full_attention"], "layer_types"),
    ]:
        try:
            spec_from_config({**base, field: value}, name="x", source="t", where="config.json")
        except GpuwiseError as e:
            assert says in str(e), (field, str(e))
        else:
            raise AssertionError(f"{field}={value!r} was accepted")
