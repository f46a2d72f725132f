"""InternLM3 (internlm/internlm3-8b-instruct) is counted by gpuwise's rule, without torch, and
refuses what transformers refuses: ``qkv_bias`` different from ``bias``."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from gpuwise.errors import GpuwiseError
from gpuwise.models import load_model
from gpuwise.models.build import spec_from_config

try:
    from tests.models.test_param_counts import hf_counts
except pytest.skip.Exception:  # no torch / transformers: the comparison with them is skipped
    hf_counts = None

SMALL = {
    "model_type": "internlm3",
    "vocab_size": 300,
    "hidden_size": 64,
    "intermediate_size": 96,
    "num_hidden_layers": 2,
    "num_attention_heads": 8,
    "num_key_value_heads": 2,
    "head_dim": 16,
}


def count(config):
    return spec_from_config(dict(config), name="t", source="test", where="test config")


def test_the_preset_is_counted_by_gpuwise_rules():
    spec = load_model("internlm3-8b")
    assert str(spec.counted_by) == "gpuwise rules"
    assert spec.params == 8_804_241_408  # transformers 5.24, LlamaForCausalLM on meta


@pytest.mark.parametrize("qkv,bias", [(True, False), (False, True)])
def test_unequal_biases_are_refused_as_transformers_refuses_them(qkv, bias):
    config = {**SMALL, "qkv_bias": qkv, "bias": bias}
    with pytest.raises(GpuwiseError, match=r"'qkv_bias' .* and 'bias' .* differ") as e:
        count(config)
    assert "\n" not in str(e.value)
    transformers = pytest.importorskip("transformers")
    with pytest.raises(Exception, match="qkv_bias"):  # transformers' own validation error
        transformers.AutoConfig.for_model("internlm3", qkv_bias=qkv, bias=bias)


@settings(max_examples=8, deadline=None)
@given(on=st.booleans(), layers=st.integers(1, 3), tie=st.booleans())
def test_biases_add_exactly_what_transformers_builds(on, layers, tie):
    if hf_counts is None:
        pytest.skip("needs torch and transformers")
    config = {
        **SMALL,
        "qkv_bias": on,
        "bias": on,
        "num_hidden_layers": layers,
        "tie_word_embeddings": tie,
    }
    assert count(config).params == hf_counts(config)[0]
