"""Weight types: names as people type them, ggml's block table checked against the gguf
package, and llama.cpp's quantizer rule on the tensors where the mixes differ."""

from __future__ import annotations

from collections import Counter

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from gpuwise.errors import GpuwiseError
from gpuwise.models import load_model, preset_names
from gpuwise.models.weight_types import (
    ALIASES,
    GGUF_TYPES,
    WEIGHT_TYPES,
    file_type_by_id,
    ggml_types,
    layer_bytes,
    nonlayer_bytes,
    normalise,
    tensor_weights,
    weights_bytes,
)


def _types(spec, weight_type, suffix):
    """layer -> ggml type of the layer tensors whose name ends in ``suffix``."""
    return {
        t.layer: t.ggml_type
        for t in tensor_weights(spec, weight_type)
        if t.layer is not None and t.name.endswith(suffix)
    }


@given(st.sampled_from(WEIGHT_TYPES), st.data())
def test_any_case_names_its_type(key, data):
    typed = "".join(data.draw(st.sampled_from([c.lower(), c.upper()])) for c in key)
    assert normalise(typed) == key
    assert normalise(f"  {typed.replace('_', '-')} ") == key


def test_llama_quantize_aliases():
    assert normalise("Q4_K") == "q4_k_m"
    assert normalise("int4") == "nf4"
    assert set(ALIASES.values()) <= set(WEIGHT_TYPES)


@given(st.text(max_size=60))
def test_unknown_type_is_one_line_naming_the_types(text):
    key = text.strip().lower().replace("-", "_")
    if key in WEIGHT_TYPES or key in ALIASES:
        return
    with pytest.raises(GpuwiseError) as e:
        normalise(text)
    message = str(e.value)
    assert "\n" not in message.replace(text[:40], "")
    assert "q4_k_m" in message and "awq" in message and "nf4" in message


def test_block_table_is_ggmls():
    """Each type's block and bytes as the gguf package (llama.cpp's gguf-py) has them."""
    gguf = pytest.importorskip("gguf")
    sizes = gguf.constants.GGML_QUANT_SIZES
    assert len(sizes) >= 30
    for t in gguf.constants.GGMLQuantizationType:
        if t.name.lower() == "q8_1":
            continue  # an intermediate type no file stores
        ours = ggml_types()[t.name.lower()]
        assert ours["id"] == t.value, t
        assert (ours["block"], ours["bytes"]) == sizes[t], t


def test_file_type_ids_are_llamas():
    gguf = pytest.importorskip("gguf")
    theirs = {f.value: f.name.removeprefix("MOSTLY_").lower() for f in gguf.LlamaFileType}
    theirs[0] = "f32"  # ALL_F32
    for fid, key in file_type_by_id().items():
        assert theirs[fid] == key
    assert set(file_type_by_id().values()) == set(GGUF_TYPES)


def test_q4_k_m_keeps_half_the_attn_v_and_ffn_down_at_q6_k():
    """llama-quant.cpp use_more_bits(i, n): the first and last eighth of the layers and every
    third one between; output at q6_k, everything else q4_k, norms f32."""
    spec = load_model("llama-3.1-8b")
    more = {i for i in range(32) if i < 4 or i >= 28 or (i - 4) % 3 == 2}
    for suffix in ("attn_v.weight", "ffn_down.weight"):
        types = _types(spec, "q4_k_m", suffix)
        assert {i for i, t in types.items() if t == "q6_k"} == more
        assert {t for i, t in types.items() if i not in more} == {"q4_k"}
    assert set(_types(spec, "q4_k_m", "attn_q.weight").values()) == {"q4_k"}
    types = {t.name: t.ggml_type for t in tensor_weights(spec, "q4_k_m")}
    assert types["output.weight"] == "q6_k"
    assert types["token_embd.weight"] == "q4_k"
    assert types["blk.0.attn_norm.weight"] == "f32"
    assert Counter(types.values()) == Counter({"q4_k": 193, "q6_k": 33, "f32": 65})


def test_q3_k_m_and_q4_k_s_mixes():
    spec = load_model("llama-3.1-8b")
    v = _types(spec, "q3_k_m", "attn_v.weight")
    assert v[0] == v[1] == "q5_k" and set(list(v.values())[2:]) == {"q4_k"}
    down = _types(spec, "q3_k_m", "ffn_down.weight")
    assert down[0] == down[1] == "q5_k" and down[2] == "q4_k"
    assert set(_types(spec, "q3_k_m", "attn_output.weight").values()) == {"q4_k"}
    assert set(_types(spec, "q3_k_m", "ffn_up.weight").values()) == {"q3_k"}
    v = _types(spec, "q4_k_s", "attn_v.weight")
    assert [v[i] for i in range(6)] == ["q5_k"] * 4 + ["q4_k"] * 2


def test_row_not_a_whole_number_of_blocks_falls_back():
    """A row of 896 (Qwen2.5-0.5B) is not a whole number of 256-blocks: k-quants fall back
    (q4_k -> q5_0, q6_k -> q8_0; tensor_type_fallback) and the output goes to q8_0."""
    spec = load_model("qwen2.5-0.5b")
    types = {t.name: t.ggml_type for t in tensor_weights(spec, "q4_k_m")}
    assert types["blk.5.attn_q.weight"] == "q5_0"
    assert types["token_embd.weight"] == "q8_0"  # tied: the output's rule
    assert "output.weight" not in types


def test_sums_and_split():
    spec = load_model("mistral-7b")
    for key in ("q4_k_m", "awq", "fp8", "nf4", "f16"):
        total = weights_bytes(spec, key)
        assert total == sum(layer_bytes(spec, key)) + sum(nonlayer_bytes(spec, key).values())
        assert len(layer_bytes(spec, key)) == spec.num_layers
    assert set(nonlayer_bytes(spec, "q4_k_m")) == {
        "token_embd.weight",
        "output.weight",
        "output_norm.weight",
    }


def test_types_shrink_with_their_bits():
    spec = load_model("qwen2.5-7b")
    order = ["f32", "f16", "q8_0", "q6_k", "q5_k_m", "q4_k_m", "q3_k_m", "q2_k", "iq1_s"]
    sizes = [weights_bytes(spec, k) for k in order]
    assert sizes == sorted(sizes, reverse=True)
    # f16: matrices in 2 bytes, norms and biases in f32 (convert_hf_to_gguf.py)
    matrices = sum(b.weight_numel * b.count for b in spec.blocks if len(b.shape) >= 2)
    vectors = sum(b.weight_numel * b.count for b in spec.blocks if len(b.shape) == 1)
    biases = sum(b.bias * b.count for b in spec.blocks)
    assert matrices + vectors + biases == spec.params
    assert weights_bytes(spec, "f16") == 2 * matrices + 4 * (vectors + biases)


@settings(max_examples=40, deadline=None)
@given(st.sampled_from(preset_names()), st.sampled_from(WEIGHT_TYPES))
def test_layers_and_the_rest_make_the_whole(preset, key):
    """For any preset and type: the layers' bytes and the tensors outside them sum to the
    whole, every layer holds some, and a smaller type never weighs more than f16."""
    spec = load_model(preset)
    layers = layer_bytes(spec, key)
    assert len(layers) == spec.num_layers and min(layers) > 0
    assert sum(layers) + sum(nonlayer_bytes(spec, key).values()) == weights_bytes(spec, key)
    if key not in ("f32", "fp32"):
        assert weights_bytes(spec, key) <= weights_bytes(spec, "f16") * 1.001


def test_deepseek_dense_layers_come_first():
    """DeepSeek-V3's first_k_dense_replace (3) dense layers, then mixture-of-experts layers."""
    layers = layer_bytes(load_model("deepseek-v3"), "q4_k_m")
    assert layers[0] == layers[2] < layers[3] / 10
