"""llama.cpp's memory as gpuwise lays it out: where each layer's weights and KV cache go with
-ngl, the KV cache at f16 / q8_0 / q4_0, the compute buffer, and the most layers that fit."""

from __future__ import annotations

import itertools

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from gpuwise.catalog import load_catalog
from gpuwise.errors import GpuwiseError
from gpuwise.infer.engine import EngineSettings, check
from gpuwise.infer.memory import (
    compute_buffer,
    llama_memory,
    most_layers,
    padded_ctx,
    weight_split,
)
from gpuwise.infer.split import split_memory
from gpuwise.models import load_model
from gpuwise.models.weight_types import nonlayer_bytes, weights_bytes

MIB = 1 << 20
LLAMA8 = load_model("llama-3.1-8b")
QWEN05 = load_model("qwen2.5-0.5b")  # ties its output to token_embd
LLAMA70 = load_model("llama-3.1-70b")
CARD3090 = load_catalog(None).find("3090")


def _s(**kw: object) -> EngineSettings:
    return EngineSettings("llama.cpp", str(kw.pop("weight_type", "q4_k_m")), **kw)  # type: ignore[arg-type]


def test_full_offload_puts_all_but_token_embd_on_the_card():
    m = llama_memory(LLAMA8, _s(), 8192, 33)
    total = weights_bytes(LLAMA8, "q4_k_m")
    embd = nonlayer_bytes(LLAMA8, "q4_k_m")["token_embd.weight"]
    assert m.gpu_layers == m.total_layers == 33
    assert m.weights_gpu == total - embd
    assert m.weights_host == embd  # the input layer always stays in host memory
    assert m.kv_host == 0


def test_kv_cache_f16_is_two_bytes_a_value_and_quantized_types_their_blocks():
    # Llama-3.1-8B: 32 layers x (K + V) x 8 kv heads x 128 x 8192 tokens
    values = 32 * 2 * 8 * 128 * 8192
    assert llama_memory(LLAMA8, _s(kv_type="f16"), 8192, 33).kv_gpu == values * 2
    assert llama_memory(LLAMA8, _s(kv_type="q8_0"), 8192, 33).kv_gpu == values // 32 * 34
    assert llama_memory(LLAMA8, _s(kv_type="q4_0"), 8192, 33).kv_gpu == values // 32 * 18


def test_context_is_rounded_up_to_256_cells():
    assert padded_ctx(1) == 256
    assert padded_ctx(1000) == 1024
    assert padded_ctx(8192) == 8192
    a = llama_memory(LLAMA8, _s(), 1000, 33)
    b = llama_memory(LLAMA8, _s(), 1024, 33)
    assert a.kv_gpu == b.kv_gpu and a.n_ctx == 1024


def test_one_gpu_layer_is_the_output_layer_and_zero_is_none():
    split = weight_split(LLAMA8, "q4_k_m")
    none = llama_memory(LLAMA8, _s(), 4096, 0)
    assert none.weights_gpu == 0 and none.kv_gpu == 0
    one = llama_memory(LLAMA8, _s(), 4096, 1)
    assert one.weights_gpu == split.output  # output_norm + output.weight
    assert one.kv_gpu == 0
    two = llama_memory(LLAMA8, _s(), 4096, 2)
    assert two.weights_gpu == split.output + split.layers[31]  # then the last block
    assert two.kv_gpu * 32 == llama_memory(LLAMA8, _s(), 4096, 33).kv_gpu


def test_a_tied_model_keeps_a_copy_of_token_embd_as_its_output_on_the_card():
    split = weight_split(QWEN05, "q8_0")
    embd = nonlayer_bytes(QWEN05, "q8_0")["token_embd.weight"]
    assert split.token_embd == embd
    assert split.output >= embd  # the duplicate, plus output_norm
    m = llama_memory(QWEN05, _s(weight_type="q8_0"), 2048, QWEN05.num_layers + 1)
    assert m.weights_host == embd
    assert m.weights_gpu == sum(split.layers) + split.output


def test_compute_buffer_follows_ollamas_estimate_of_llama_cpp():
    # data/llamacpp.json: Llama-3-8B, n_ctx 8192, ubatch 512
    no_fa = compute_buffer(LLAMA8, _s(flash_attn=False), 8192, True)
    fa = compute_buffer(LLAMA8, _s(flash_attn=True), 8192, True)
    assert no_fa == 4 * 512 * (1 + 4 * 4096 + 8192 * 33)  # the KQ scores dominate: 560 MiB
    assert no_fa / MIB == pytest.approx(560.0, abs=0.01)
    assert fa == 4 * 512 * (4096 + 128256)  # the logits dominate: 258.5 MiB
    assert fa / MIB == pytest.approx(258.5, abs=0.01)


def test_quantized_v_cache_without_flash_attention_is_refused_as_llama_cpp_does():
    for kv in ("q8_0", "q4_0"):
        with pytest.raises(GpuwiseError, match="requires flash_attn"):
            check(_s(kv_type=kv, flash_attn=False))
    assert check(_s(kv_type="q8_0", flash_attn=True)).kv_type == "q8_0"
    assert check(_s(kv_type="f16", flash_attn=False)).kv_type == "f16"


@settings(max_examples=40, deadline=None)
@given(
    k=st.integers(0, 32),
    n_ctx=st.integers(1, 131072),
    kv=st.sampled_from(["f16", "q8_0", "q4_0"]),
    fa=st.booleans(),
)
def test_one_more_gpu_layer_moves_bytes_from_host_to_card(k, n_ctx, kv, fa):
    s = _s(kv_type=kv, flash_attn=fa or kv != "f16")
    a, b = llama_memory(LLAMA8, s, n_ctx, k), llama_memory(LLAMA8, s, n_ctx, k + 1)
    assert b.weights_gpu + b.kv_gpu > a.weights_gpu + a.kv_gpu
    assert b.host_bytes < a.host_bytes
    # nothing is lost or made: weights and KV add up to the same total at every split
    assert a.weights_gpu + a.weights_host == b.weights_gpu + b.weights_host
    assert a.kv_gpu + a.kv_host == b.kv_gpu + b.kv_host


@settings(max_examples=30, deadline=None)
@given(usable_mib=st.integers(0, 16 * 1024), n_ctx=st.integers(256, 32768))
def test_auto_layers_are_the_most_that_fit(usable_mib, n_ctx):
    usable = usable_mib * MIB
    m = most_layers(LLAMA8, _s(), n_ctx, usable)
    if m.gpu_bytes > usable:
        assert m.gpu_layers == 0  # not even the compute buffer and context fit
    elif m.gpu_layers < m.total_layers:
        assert llama_memory(LLAMA8, _s(), n_ctx, m.gpu_layers + 1).gpu_bytes > usable
    else:
        assert m.all_on_gpu and m.host_bytes == m.weights_host  # only token_embd stays


@settings(max_examples=30, deadline=None)
@given(
    gib=st.lists(st.integers(8, 96), min_size=2, max_size=4),
    k=st.integers(0, 81),
    n_ctx=st.integers(256, 32768),
)
def test_a_layer_split_shares_every_layer_once_by_free_memory(gib, k, n_ctx):
    llama70, card = LLAMA70, CARD3090
    usables = [g << 30 for g in gib]
    m = split_memory(llama70, _s(), [card] * len(gib), usables, n_ctx, k)
    on_cards = sum(sh.layers for sh in m.shares) + any(sh.output for sh in m.shares)
    assert on_cards == min(k, 81)  # every slot on the GPUs is on exactly one card
    assert sum(sh.output for sh in m.shares) == (1 if k >= 1 else 0)
    if k >= 1:
        assert m.shares[-1].output or not m.shares[-1].layers  # the output layer comes last
    one = llama_memory(llama70, _s(), n_ctx, k)
    assert sum(sh.weights for sh in m.shares) == one.weights_gpu  # the same layers as on one card
    assert m.weights_host == one.weights_host and m.kv_host == one.kv_host
    # all layers on the cards: one with more free memory never gets fewer layer slots (the
    # output layer is one) than one with less, but for rounding
    full = split_memory(llama70, _s(), [card] * len(gib), usables, n_ctx, 81)
    slots = (sh.layers + sh.output for sh in full.shares)
    by_memory = sorted(zip(usables, slots, strict=True))
    assert all(a[1] <= b[1] + 1 for a, b in itertools.pairwise(by_memory))


def test_gemma_keeps_its_sliding_layers_to_the_window_plus_a_ubatch():
    gemma = load_model("gemma-3-12b")  # 48 layers, 40 of them sliding (window 1024)
    m = llama_memory(gemma, _s(), 32768, gemma.num_layers + 1)
    per_token = gemma.num_kv_heads * gemma.head_dim * 2 * 2  # K and V, f16
    window = 1024 + 512  # llama-kv-cache-iswa.cpp: n_swa + n_ubatch, padded to 256
    assert m.kv_gpu == per_token * (8 * 32768 + 40 * window)


def test_deepseeks_mla_cache_is_one_compressed_row_a_token():
    ds = load_model("deepseek-v3")  # 61 layers, kv_lora_rank 512, rope 64
    m = llama_memory(ds, _s(kv_type="q8_0"), 32768, ds.num_layers + 1)
    # published: 'KV self size = 1166.62 MiB, c^KV (q8_0)' at n_ctx 32768
    # (https://github.com/ikawrakow/ik_llama.cpp/pull/259)
    assert m.kv_gpu / 2**20 == pytest.approx(1166.62, abs=0.05)
