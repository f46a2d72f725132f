"""At contexts far beyond the derivation configs, a fitted transient never goes below what is
physically there: a layer's forward peak holds at least what the layer keeps, and no transient
is negative (a Mistral-7B-v0.1-like model, every layer sliding, once planned a -4 GiB layer
peak at 32k tokens)."""

from __future__ import annotations

import json

import pytest

from gpuwise.memory.terms import dims_for, mode_key, stack_for
from gpuwise.models import load_model
from gpuwise.models.resolve import resolve


@pytest.fixture(scope="module")
def sliding_mistral(tmp_path_factory):
    config = dict(resolve("mistral-7b-v0.3").config)
    config.update(sliding_window=4096, vocab_size=32000, max_position_embeddings=131072)
    path = tmp_path_factory.mktemp("mistral01") / "config.json"
    path.write_text(json.dumps(config))
    spec = load_model(str(path))
    assert spec.sliding_layers == spec.num_layers
    return spec


@pytest.mark.parametrize("seq", [8192, 32768, 131072])
@pytest.mark.parametrize("precision", ["bf16", "amp-bf16", "fp32"])
@pytest.mark.parametrize("method", ["full", "lora"])
@pytest.mark.parametrize("ckpt", [True, False])
def test_layer_transients_are_never_below_what_is_there(
    sliding_mistral, seq, precision, method, ckpt
):
    stack = stack_for(sliding_mistral, mode_key("train", precision, method, ckpt), seq)
    assert stack.n_sliding == sliding_mistral.num_layers
    d = dims_for(sliding_mistral, 1, seq, 16)
    kept = stack.sliding.eval("layer", d)
    assert kept > 0
    assert stack.last_layer("layer_fwd_peak", d) >= kept
    assert stack.last_layer("layer_bwd_peak", d) >= 0
