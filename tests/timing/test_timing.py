"""Time model: FLOP counts against published rules, card rates, throughput and energy."""

from __future__ import annotations

import subprocess
import sys

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from gpuwise.catalog import load_catalog
from gpuwise.memory.weights import weights_bytes
from gpuwise.models import load_model
from gpuwise.record import replace
from gpuwise.render.plan_json import time_dict
from gpuwise.timing import (
    decode_weight_bytes,
    efficiency,
    infer_time,
    matmul_rate,
    train_flops_per_token,
    train_time,
)
from gpuwise.timing.flops import attention_flops
from gpuwise.workload import Workload

TERA = 1e12


@pytest.fixture(scope="module")
def catalog():
    return load_catalog()


@pytest.fixture(scope="module")
def llama8b():
    return load_model("llama-3.1-8b")


def _embedding_params(spec) -> int:
    return sum(b.numel for b in spec.train_blocks if b.part == "embedding")


# -- FLOPs ------------------------------------------------------------------------------------


def test_dense_training_follows_the_6n_rule(llama8b):
    """Kaplan/PaLM: ~6 FLOPs per non-embedding parameter per token at short context."""
    f = train_flops_per_token(llama8b, Workload(seq=128))
    non_embedding = llama8b.params - _embedding_params(llama8b)
    assert f.total == pytest.approx(6 * non_embedding, rel=0.02)
    # Below 6 x all parameters: the embedding lookup is not a matmul.
    assert 0.90 * 6 * llama8b.params < f.total < 6 * llama8b.params


def test_attention_term_matches_palm_appendix_b(llama8b):
    """PaLM's 12·L·H·Q·T per token (full square, not halved for the causal mask)."""
    seq = 4096
    f = train_flops_per_token(llama8b, Workload(seq=seq))
    s = llama8b
    assert f.attention == pytest.approx(
        12 * s.num_layers * s.num_attention_heads * s.head_dim * seq
    )


def test_checkpointing_costs_one_more_forward(llama8b):
    plain = train_flops_per_token(llama8b, Workload(seq=1024))
    ckpt = train_flops_per_token(llama8b, Workload(seq=1024, grad_checkpointing=True))
    assert ckpt.model == plain.model
    # 8N / 6N, a little less because transformers does not recompute the LM head.
    assert 1.28 < ckpt.total / plain.total <= 4 / 3


def test_lora_costs_about_two_thirds_of_full(llama8b):
    full = train_flops_per_token(llama8b, Workload(seq=512))
    lora = train_flops_per_token(llama8b, Workload(seq=512, method="lora"))
    assert lora.adapters > 0
    assert 0.64 < lora.total / full.total < 0.70  # 4N (+ adapters) vs 6N


def test_lora_adapters_grow_with_rank(llama8b):
    low = train_flops_per_token(llama8b, Workload(method="lora", lora_rank=8))
    high = train_flops_per_token(llama8b, Workload(method="lora", lora_rank=64))
    assert high.adapters == pytest.approx(8 * low.adapters)
    assert high.matmul == low.matmul


def test_moe_counts_only_the_routed_experts():
    mixtral = load_model("mixtral-8x7b")
    f = train_flops_per_token(mixtral, Workload(seq=128))
    active_non_embedding = mixtral.active_params - _embedding_params(mixtral)
    assert f.total == pytest.approx(6 * active_non_embedding, rel=0.03)
    assert f.total < 0.4 * 6 * mixtral.params


def test_tied_and_masked_lm_heads_are_counted_as_matmuls():
    """GPT-2's head is its embedding matrix; BERT's MLM decoder is tied to its word embeddings."""
    for name in ("gpt2", "bert-base-uncased"):
        spec = load_model(name)
        vocab_hidden = spec.vocab_size * spec.hidden_size
        body = spec.linear_params(spec.train_blocks)
        f = train_flops_per_token(spec, Workload(seq=64))
        assert f.matmul == pytest.approx(6 * (body + vocab_hidden), rel=0.01), name


def test_sliding_window_caps_attention_context():
    mistral_like = load_model("phi-3-mini")  # every layer slides (window 2047)
    window = mistral_like.sliding_window
    assert attention_flops(mistral_like, 4 * window) == attention_flops(mistral_like, window)
    gemma2 = load_model("gemma-2-9b")  # alternating sliding / global layers
    long = attention_flops(gemma2, 8 * gemma2.sliding_window)
    per_pos = attention_flops(gemma2, 1)
    assert per_pos * gemma2.sliding_window * 8 > long > per_pos * gemma2.sliding_window * 4


def test_mla_attention_uses_its_own_head_widths():
    ds = load_model("deepseek-v3")
    # DeepSeek-V3: 128 heads, q/k 128 (nope) + 64 (rope) wide, values 128 wide.
    expected = 2 * 128 * (128 + 64 + 128) * ds.num_layers
    assert attention_flops(ds, 1) == expected


@settings(max_examples=25, deadline=None)
@given(st.integers(1, 1 << 16), st.integers(1, 1 << 16))
def test_attention_grows_with_context(a, b):
    spec = load_model("gemma-3-1b")
    lo, hi = sorted((a, b))
    assert attention_flops(spec, lo) <= attention_flops(spec, hi)


# -- rates ------------------------------------------------------------------------------------


def test_bf16_on_pascal_runs_at_the_fp32_rate(catalog):
    card = catalog.find("gtx 1080 ti")
    rate = matmul_rate(card, "bf16")
    assert rate.flops_per_s == card.fp32_tflops * TERA
    assert rate.note and "not native" in str(rate.note) and "FP32" in str(rate.note)


def test_fp16_without_tensor_cores_is_not_double_rate(catalog):
    card = catalog.find("gtx 1660 ti")
    assert card.fp16_nontensor_tflops > card.fp32_tflops  # the packed half2 figure
    assert matmul_rate(card, "fp16").flops_per_s == card.fp32_tflops * TERA


def test_turing_fp16_uses_tensor_cores_but_bf16_does_not(catalog):
    card = catalog.find("rtx 2080 ti")
    assert matmul_rate(card, "fp16").flops_per_s == card.fp16_tensor_tflops * TERA
    bf16 = matmul_rate(card, "bf16")
    assert bf16.flops_per_s == card.fp32_tflops * TERA
    assert "fp16" in str(bf16.note or "")


def test_fp32_on_a_4090_is_not_tf32_by_default(catalog):
    card = catalog.find("rtx 4090")
    rate = matmul_rate(card, "fp32")
    assert rate.flops_per_s == card.fp32_tflops * TERA
    assert "TF32" in str(rate.note or "")
    assert matmul_rate(card, "fp32", allow_tf32=True).flops_per_s == card.tf32_tensor_tflops * TERA
    assert matmul_rate(card, "bf16").flops_per_s == card.bf16_tensor_tflops * TERA


def test_unstated_tensor_rate_is_estimated_from_cards_of_its_kind(catalog, llama8b):
    # a user card that states no bf16 tensor rate: GeForce Blackwell cards run bf16 (FP32
    # accumulate) at twice their FP32 rate, so the estimate is the card's FP32 rate x 2
    card = replace(catalog.find("rtx 5090 d"), bf16_tensor_tflops=None, slug="user-5090-d")
    rate = matmul_rate(card, "bf16")
    assert rate.flops_per_s == pytest.approx(2 * card.fp32_tflops * TERA, rel=0.01)
    assert "estimated" in str(rate.note) and "x 2" in str(rate.note)
    # a data-centre Hopper card gets the ratio of its segment (about 15x), not GeForce's
    h100 = replace(catalog.find("h100 sxm"), bf16_tensor_tflops=None, slug="user-h100")
    assert matmul_rate(h100, "bf16").flops_per_s > 12 * h100.fp32_tflops * TERA
    assert train_time(llama8b, Workload(), card).train_tokens_per_s > 0


def test_unknown_tensor_rate_gives_null_times_with_a_reason(catalog, llama8b):
    # a card of an architecture no catalogued card shares, stating no bf16 tensor rate
    card = replace(
        catalog.find("rtx 5090 d"), bf16_tensor_tflops=None, architecture="Rubin", slug="user-r"
    )
    t = train_time(llama8b, Workload(), card, tokens=10**9)
    assert t.step_s is None and t.train_tokens_per_s is None and t.energy_kwh is None
    assert any("not known" in str(n) for n in t.notes)
    infer = infer_time(llama8b, Workload(task="infer"), card)
    assert infer.prefill_tokens_per_s is None
    assert infer.decode_tokens_per_s > 0  # memory-bound: bandwidth is known


# -- training time ----------------------------------------------------------------------------


def test_train_time_json_keys(catalog, llama8b):
    d = time_dict(train_time(llama8b, Workload(), catalog.find("rtx 4090"), tokens=10**8))
    assert set(d) == {
        "train_tokens_per_s",
        "step_s",
        "time_to_train_s",
        "energy_kwh",
        "mfu",
        "tokens_per_s_low",
        "tokens_per_s_high",
        "notes",
    }
    assert d["tokens_per_s_low"] < d["train_tokens_per_s"] < d["tokens_per_s_high"]
    d = time_dict(train_time(llama8b, Workload(), catalog.find("rtx 4090")))
    assert d["time_to_train_s"] is None and d["energy_kwh"] is None


def test_step_is_at_least_the_flops_at_peak(catalog, llama8b):
    card = catalog.find("h100 sxm")
    w = Workload(batch=4, seq=2048)
    t = train_time(llama8b, w, card)
    at_peak = (
        train_flops_per_token(llama8b, w).total * w.batch * w.seq / (card.bf16_tensor_tflops * TERA)
    )
    assert t.step_s > at_peak
    assert t.step_s == pytest.approx(w.batch * w.seq / t.train_tokens_per_s)


def test_faster_card_trains_faster(catalog, llama8b):
    w = Workload(method="lora", seq=1024)
    assert (
        train_time(llama8b, w, catalog.find("h100 sxm")).train_tokens_per_s
        > train_time(llama8b, w, catalog.find("rtx 4090")).train_tokens_per_s
        > train_time(llama8b, w, catalog.find("rtx 3060")).train_tokens_per_s
    )


def test_energy_is_tdp_times_time(catalog, llama8b):
    card = catalog.find("rtx 3090")
    t = train_time(llama8b, Workload(method="qlora"), card, tokens=5 * 10**7)
    assert t.energy_kwh == pytest.approx(card.tdp_w * t.time_to_train_s / 3.6e6)


@settings(max_examples=25, deadline=None)
@given(st.integers(1, 10**12), st.integers(2, 50))
def test_time_to_train_is_linear_in_tokens(tokens, k):
    spec = load_model("qwen2.5-0.5b")
    card = load_catalog().find("rtx 4070")
    one = train_time(spec, Workload(), card, tokens=tokens)
    many = train_time(spec, Workload(), card, tokens=tokens * k)
    assert many.time_to_train_s == pytest.approx(k * one.time_to_train_s)
    assert many.energy_kwh == pytest.approx(k * one.energy_kwh)


@settings(max_examples=30, deadline=None)
@given(st.integers(1, 64), st.integers(16, 8192), st.sampled_from(["full", "lora", "qlora"]))
def test_bigger_steps_take_longer_and_long_context_costs_per_token(batch, seq, method):
    spec = load_model("llama-3.2-1b")
    card = load_catalog().find("rtx 4090")
    w = Workload(batch=batch, seq=seq, method=method)
    t = train_time(spec, w, card)
    bigger = train_time(spec, w.with_(batch=batch + 1), card)
    longer = train_time(spec, w.with_(seq=seq * 2), card)
    # a launch-bound step waits on the CPU's launches, which do not grow with the batch
    assert bigger.step_s >= t.step_s and longer.step_s >= t.step_s
    if not t.step.launch_bound:
        assert bigger.step_s > t.step_s and longer.step_s > t.step_s
    # Attention per token grows with context; fixed costs per step (launches, GEMM tails, the
    # optimizer) shrink per token, so tokens/s as a whole may still rise with longer sequences.
    assert longer.step.attention_s / (2 * seq) > t.step.attention_s / seq


def test_qlora_is_assumed_slower_than_lora(catalog, llama8b):
    card = catalog.find("rtx 4090")
    lora = train_time(llama8b, Workload(method="lora"), card)
    qlora = train_time(llama8b, Workload(method="qlora"), card)
    assert qlora.train_tokens_per_s < lora.train_tokens_per_s
    assert qlora.mfu < lora.mfu <= train_time(llama8b, Workload(), card).mfu


# -- inference --------------------------------------------------------------------------------


def test_decode_is_bounded_by_bandwidth_over_weight_bytes(catalog, llama8b):
    card = catalog.find("rtx 4090")
    t = infer_time(llama8b, Workload(task="infer", batch=1, seq=512), card)
    bound = card.bandwidth_gb_s * 1e9 / weights_bytes(llama8b, "bf16")
    assert 0.3 * bound < t.decode_tokens_per_s <= t.decode_tokens_per_s_gpu_bound <= bound
    assert set(time_dict(t)) == {
        "prefill_tokens_per_s",
        "decode_tokens_per_s",
        "decode_bound",
        "time_to_generate_s",
        "energy_kwh",
        "bandwidth_efficiency",
        "notes",
    }
    assert t.energy_kwh is None


def test_moe_decode_reads_fewer_bytes_than_its_size(catalog):
    mixtral = load_model("mixtral-8x7b")
    total = weights_bytes(mixtral, "bf16")
    one = decode_weight_bytes(mixtral, "bf16", batch=1)
    assert one < 0.4 * total  # 2 of 8 experts per layer
    # With enough tokens in the batch every expert is read (embedding table still not).
    assert decode_weight_bytes(mixtral, "bf16", batch=64) > 0.95 * total


@settings(max_examples=20, deadline=None)
@given(st.integers(1, 256), st.integers(1, 256))
def test_moe_decode_bytes_grow_with_batch(a, b):
    spec = load_model("qwen3-30b-a3b")
    lo, hi = sorted((a, b))
    assert decode_weight_bytes(spec, "bf16", lo) <= decode_weight_bytes(spec, "bf16", hi)


def test_quantized_weights_read_fewer_bytes(catalog, llama8b):
    card = catalog.find("rtx 3090")
    w = Workload(task="infer", seq=256)
    bf16 = infer_time(llama8b, w, card)
    nf4 = infer_time(llama8b, w.with_(weight_dtype="nf4"), card)
    assert nf4.decode_bytes < 0.4 * bf16.decode_bytes
    assert nf4.bandwidth_efficiency < bf16.bandwidth_efficiency


def test_memory_model_numbers_are_used_when_given(catalog, llama8b):
    card = catalog.find("h100 sxm")
    w = Workload(task="infer", batch=64, seq=4096)
    own = infer_time(llama8b, w, card)
    given_kv = infer_time(llama8b, w, card, kv_bytes=2 * (own.decode_bytes))
    assert given_kv.decode_tokens_per_s < own.decode_tokens_per_s


def test_prefill_is_compute_bound_and_follows_the_rate(catalog, llama8b):
    w = Workload(task="infer", seq=2048)
    fast, slow = catalog.find("h100 sxm"), catalog.find("rtx 4090")
    ratio = (
        infer_time(llama8b, w, fast).prefill_tokens_per_s
        / infer_time(llama8b, w, slow).prefill_tokens_per_s
    )
    assert ratio == pytest.approx(fast.bf16_tensor_tflops / slow.bf16_tensor_tflops, rel=0.01)


def test_infer_energy_needs_tokens(catalog, llama8b):
    card = catalog.find("l4")
    t = infer_time(llama8b, Workload(task="infer"), card, tokens=1000)
    assert t.time_to_generate_s == pytest.approx(1000 / t.decode_tokens_per_s)
    assert t.energy_kwh == pytest.approx(card.tdp_w * t.time_to_generate_s / 3.6e6)


# -- data and budget --------------------------------------------------------------------------


def test_every_efficiency_names_its_source_or_says_it_is_an_assumption():
    eff = efficiency()

    def check(entry):
        assert entry["value"] > 0
        kind = entry["kind"]
        assert kind == "definition" or entry.get("sources") or "assumption" in kind, entry
        if kind != "definition":
            assert entry.get("why")

    check(eff["prefill_efficiency"])
    check(eff["decode_overhead_s_per_layer"])
    for entry in eff["bandwidth_efficiency"].values():
        check(entry)


def test_timing_does_not_import_torch():
    code = "import sys, gpuwise.timing; assert 'torch' not in sys.modules"
    subprocess.run([sys.executable, "-c", code], check=True)


def test_bench_dir_can_be_named(monkeypatch, tmp_path):
    from gpuwise.timing.calibration import bench_path

    monkeypatch.setenv("GPUWISE_BENCH_DIR", str(tmp_path / "b"))
    assert bench_path("rtx-4090") == tmp_path / "b" / "rtx-4090.json"
