"""vLLM serving plans (plan --task infer --engine vllm): the KV cache vLLM's own startup logs
report (tests/infer/data/vllm_logs.json, each row cited), what the KV tokens and sequences
follow from, tensor parallel, throughput, and bad flags refused in one line (hypothesis)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from gpuwise.catalog import load_catalog, usable_memory
from gpuwise.infer.vllm import VllmSettings, max_concurrent, vllm_memory
from gpuwise.models import load_model
from tests.checks import command_loads_none_of, finite_document, fixture_ok, one_line

PLAN = ("plan", "llama-3.1-8b", "--task", "infer", "--engine", "vllm", "--no-search")
DATA = json.loads((Path(__file__).parent / "data" / "vllm_logs.json").read_text())
LOGS = DATA["rows"]
GIB = 1 << 30


def _doc(cli, *args: str) -> dict:
    r = cli(*PLAN, *args, "--json")
    assert r.code == 0, r.err
    return finite_document(r.out)


def _doc_of(cli, model: str, *args: str) -> dict:
    r = cli("plan", model, *PLAN[2:], *args, "--json")
    assert r.code == 0, r.err
    return finite_document(r.out)


def _ours(row: dict):
    spec = load_model(row["model"])
    card = load_catalog(None).find(row["card"])
    f = row["flags"]
    s = VllmSettings(
        gpu_memory_utilization=f["gpu_memory_utilization"],
        tensor_parallel=f["tensor_parallel"],
        max_num_batched_tokens=f["max_num_batched_tokens"],
        max_num_seqs=f["max_num_seqs"],
    )
    return vllm_memory(spec, s, card, usable_memory(card).bytes, spec.params)


@pytest.mark.parametrize("row", LOGS, ids=lambda r: f"{r['card']}-{r['log_model']}")
def test_kv_cache_against_vllm_startup_logs(row):
    m = _ours(row)
    error = m.kv_cache_bytes / GIB / row["kv_cache_gib"] - 1
    # the accounting gpuwise follows: within 3 %; vLLM 0.6.4's profile peak left the sampler's
    # logits out (see about) and gave its cache more: gpuwise's figure is below, by at most 10 %
    if row.get("held_out"):  # found after the figures were set: reported, held loosely
        assert abs(error) <= 0.20, error
    elif row["engine"] == "profiled":
        assert abs(error) <= 0.03, error
    else:
        assert -0.10 <= error <= 0, error


def test_held_out_kv_tokens_follow_the_logged_cache_memory():
    # where the log gives both, gpuwise's tokens for the log's own cache memory are the log's
    # tokens: the bytes a token and the block rounding, apart from the memory accounting
    from gpuwise.infer.vllm import rules

    block = int(rules()["block_size"]["value"])
    rows = [r for r in LOGS if r.get("held_out") and "kv_tokens" in r]
    assert rows
    for row in rows:
        m = _ours(row)
        tokens = int(row["kv_cache_gib"] * GIB) // (m.kv_bytes_per_token * block) * block
        assert abs(tokens / row["kv_tokens"] - 1) < 0.001, (tokens, row["kv_tokens"])


@pytest.mark.parametrize("row", DATA["throughput"], ids=lambda r: f"{r['card']}-{r['log_model']}")
def test_single_stream_decode_against_a_published_row(cli, row):
    doc = _doc_of(
        cli, row["model"], "--gpu", row["card"], "--weight-dtype", row["weight_type"],
        "--seq", str(row["context"]), "--concurrency", "1",
    )  # fmt: skip
    tps = doc["cards"][0]["time"]["decode_tokens_per_s"]
    assert abs(tps / row["tokens_per_s"] - 1) < 0.10, tps


def test_a_reserve_that_leaves_less_than_vllms_share_does_not_fit(cli):
    card = _doc(cli, "--gpu", "4090", "--reserve", "4")["cards"][0]
    assert not card["fits"] and "--gpu-memory-utilization" in card["problems"][0]
    assert _doc(cli, "--gpu", "4090", "--reserve", "4", "--gpu-memory-utilization", "0.8")["cards"][
        0
    ]["fits"]


def test_activation_grows_per_batched_token_as_the_3090_logs_do():
    a, b = (r for r in LOGS if r["engine"] == "0.6.4")
    logged = (
        (b["peak_torch_gib"] - a["peak_torch_gib"])
        * GIB
        / (b["flags"]["max_num_batched_tokens"] - a["flags"]["max_num_batched_tokens"])
    )
    ours = (_ours(b).activation - _ours(a).activation) / (
        b["flags"]["max_num_batched_tokens"] - a["flags"]["max_num_batched_tokens"]
    )
    assert abs(ours / logged - 1) < 0.05


def test_llama_8b_on_a_4090_serves_a_block_rounded_cache(cli):
    doc = _doc(cli, "--gpu", "4090", "--seq", "8192")
    assert doc["engine"]["name"] == "vllm"
    sv = doc["cards"][0]["serving"]
    per_token = 32 * 2 * 8 * 128 * 2  # layers x K,V x KV heads x head dim x bf16
    assert sv["kv_cache_tokens"] % 16 == 0
    assert sv["kv_cache_tokens"] == sv["kv_cache_bytes"] // (16 * per_token) * 16
    # defaults of vllm serve on a 24 GB card: 2048 batched tokens, 256 sequences
    assert (sv["max_num_batched_tokens"], sv["max_num_seqs"]) == (2048, 256)
    assert sv["max_concurrent_seqs"] == min(256, sv["kv_cache_tokens"] // 8192)
    # 0.9 of the 4090's memory less 14.96 GiB of weights: a few GiB of cache, not 10
    assert 2 * GIB < sv["kv_cache_bytes"] < 6 * GIB
    assert doc["cards"][0]["fits"]


def test_fp8_kv_holds_twice_the_tokens(cli):
    auto = _doc(cli, "--gpu", "4090")["cards"][0]["serving"]
    fp8 = _doc(cli, "--gpu", "4090", "--kv-dtype", "fp8")["cards"][0]["serving"]
    assert fp8["kv_cache_bytes"] == auto["kv_cache_bytes"]
    assert abs(fp8["kv_cache_tokens"] - 2 * auto["kv_cache_tokens"]) <= 16


def test_awq_weights_leave_more_cache_and_decode_faster(cli):
    bf16 = _doc(cli, "--gpu", "4090")["cards"][0]
    awq = _doc(cli, "--gpu", "4090", "--weight-dtype", "awq")["cards"][0]
    assert awq["serving"]["kv_cache_bytes"] > bf16["serving"]["kv_cache_bytes"] + 8 * GIB
    assert awq["time"]["decode_tokens_per_s"] > 1.6 * bf16["time"]["decode_tokens_per_s"]


def test_tensor_parallel_halves_the_weights_and_adds_all_reduces(cli):
    one = _doc(cli, "--gpu", "h100 sxm")["cards"][0]["serving"]
    two = _doc(cli, "--gpu", "h100 sxm", "--gpus", "2")["cards"][0]["serving"]
    assert two["tensor_parallel"] == 2 and two["link"] == "nvlink"
    assert abs(2 * two["per_gpu"]["weights_bytes"] - one["per_gpu"]["weights_bytes"]) <= 2
    assert two["kv_cache_bytes"] > one["kv_cache_bytes"]
    assert two["all_reduce_s_per_step"] > 0 and one["all_reduce_s_per_step"] == 0


def test_a_70b_does_not_fit_one_4090_and_says_why(cli):
    r = cli("plan", "llama-3.1-70b", "--task", "infer", "--engine", "vllm", "--gpu", "4090")
    assert r.code == 0, r.err
    assert "does not fit" in r.out or "refuses" in r.out


def test_throughput_rises_with_concurrency_and_stays_below_the_bandwidth(cli):
    docs = [_doc(cli, "--gpu", "4090", "--seq", "1024", "--concurrency", str(n)) for n in (1, 8)]
    t1, t8 = (d["cards"][0]["serving"]["throughput_tokens_per_s"] for d in docs)
    assert t8 > 4 * t1
    # a step reads all 16 GB of weights at least once: 8 sequences <= 8 x 1008 GB/s / 16 GB
    assert t8 < 8 * 1008e9 / 16.06e9


@fixture_ok
@given(util=st.one_of(st.floats(max_value=0.0), st.floats(min_value=1.0001), st.just(float("nan"))))
def test_utilization_outside_0_1_is_one_line(cli, util):
    one_line(cli(*PLAN, "--gpu-memory-utilization", repr(util)), "--gpu-memory-utilization")


@fixture_ok
@given(
    flag=st.sampled_from(["--concurrency", "--max-num-seqs", "--max-num-batched-tokens"]),
    value=st.one_of(st.integers(max_value=0), st.integers(min_value=1 << 20 + 1)),
)
def test_counts_out_of_range_are_one_line(cli, flag, value):
    one_line(cli(*PLAN, flag, str(value)), flag)


@fixture_ok
@given(tp=st.integers(min_value=2, max_value=64))
def test_tensor_parallel_must_divide_the_heads(cli, tp):
    r = cli(*PLAN, "--gpu", "h100 sxm", "--gpus", str(tp), "--json")
    # Llama-3.1-8B: 32 attention heads, 8 KV heads (each copied to tp / 8 cards above 8)
    if 32 % tp == 0 and (8 % tp == 0 or tp % 8 == 0):
        assert r.code == 0, r.err
    else:
        one_line(r, f"--gpus {tp}", "heads", "1, 2, 4, 8, 16, 32")


def test_a_size_that_cannot_share_the_kv_heads_is_one_line(cli):
    # Qwen2.5-7B: 28 attention heads, 4 KV heads; 14 divides 28 but is no multiple of 4
    r = cli("plan", "qwen2.5-7b", *PLAN[2:], "--gpu", "h100 sxm", "--gpus", "14")
    one_line(r, "--gpus 14", "4 KV heads", "1, 2, 4, 28")


@fixture_ok
@given(
    util=st.floats(min_value=0.5, max_value=1.0),
    seq=st.integers(min_value=1, max_value=32768),
    concurrency=st.integers(min_value=1, max_value=512),
)
def test_any_good_flags_give_a_sane_serving_entry(cli, util, seq, concurrency):
    doc = _doc(
        cli,
        "--gpu", "a100 sxm4 80",
        "--gpu-memory-utilization", repr(util),
        "--seq", str(seq),
        "--concurrency", str(concurrency),
    )  # fmt: skip
    sv = doc["cards"][0]["serving"]
    assert sv["kv_cache_tokens"] % 16 == 0 and sv["kv_cache_tokens"] >= 0
    assert 0 <= sv["max_concurrent_seqs"] <= sv["max_num_seqs"]
    # the throughput is for the sequences that run at once: those asked for, if the cache holds them
    assert sv["concurrency"] == max(1, min(concurrency, sv["max_concurrent_seqs"]))
    assert sv["throughput_tokens_per_s"] > 0
    assert doc["cards"][0]["fits"] == (sv["kv_cache_tokens"] >= seq)


def test_vllm_flags_elsewhere_and_mismatched_values_are_one_line(cli):
    one_line(cli("plan", "llama-3.1-8b", "--concurrency", "4"), "--concurrency", "vllm")
    one_line(cli(*PLAN, "--max-num-batched-tokens", "64", "--max-num-seqs", "128"), "64", "128")
    # vLLM's default of 256 sequences on a 24 GB card counts too
    one_line(cli(*PLAN, "--gpu", "4090", "--max-num-batched-tokens", "128"), "128", "256")
    # with chunked prefill (always on in the V1 engine) fewer batched tokens than --seq is fine
    assert cli(*PLAN, "--gpu", "4090", "--seq", "8192", "--max-num-batched-tokens", "512").code == 0
    one_line(cli(*PLAN, "--weight-dtype", "q4_k_m"), "q4_k_m")
    one_line(cli(*PLAN, "--kv-dtype", "q8_0"), "q8_0")
    one_line(cli(*PLAN, "--ubatch", "256"), "--ubatch")
    one_line(cli(*PLAN, "--precision", "bf16"), "--precision")


def test_the_vllm_plan_imports_no_torch():
    command_loads_none_of([*PLAN, "--gpu", "4090", "--json"], ("torch", "transformers"))


def test_vllm_memory_is_a_pure_function_of_its_inputs():
    spec = load_model("llama-3.1-8b")
    card = load_catalog(None).find("4090")
    total = usable_memory(card).bytes
    m = vllm_memory(spec, VllmSettings(), card, total, spec.params)
    assert max_concurrent(m, 1) == min(256, m.num_blocks)
    lower = vllm_memory(spec, VllmSettings(gpu_memory_utilization=0.8), card, total, spec.params)
    assert lower.kv_cache_bytes < m.kv_cache_bytes


def test_a_moe_decode_step_reads_the_experts_its_batch_routes_to():
    from gpuwise.infer.vllm import weights_read

    spec = load_model("mixtral-8x7b")  # 8 experts, 2 a token
    expert = sum(b.numel for b in spec.blocks if b.experts > 0) / spec.params
    assert expert > 0.9
    one = weights_read(spec, 10**9, 1) / 10**9
    assert abs(one - (1 - expert + expert * 2 / 8)) < 1e-6  # the dense part and 2 of 8
    assert weights_read(spec, 10**9, 64) / 10**9 > 0.999  # a large batch touches them all
    dense = load_model("llama-3.1-8b")
    assert weights_read(dense, 10**9, 1) == 10**9


@fixture_ok
@given(
    flag=st.sampled_from(
        [
            "--gpu-memory-utilization",
            "--max-num-batched-tokens",
            "--max-num-seqs",
            "--concurrency",
            "--gpus",
            "--kv-dtype",
            "--weight-dtype",
        ]
    ),
    text=st.text(alphabet="0123456789.-eEinfa x_", min_size=1, max_size=8),
)
def test_any_text_for_a_vllm_flag_is_a_plan_or_one_line(cli, flag, text):
    r = cli(*PLAN, "--gpu", "4090", "--seq", "1024", f"{flag}={text}", "--json")
    if r.code == 0:
        assert finite_document(r.out)["cards"][0]["serving"]["engine"] == "vllm"
    else:
        one_line(r)


def test_a_card_below_what_vllm_or_its_kernels_need_does_not_fit(cli):
    pascal = _doc(cli, "--gpu", "1080 ti")["cards"][0]
    assert not pascal["fits"] and "7.0" in pascal["problems"][0]
    turing = _doc(cli, "--gpu", "2080 ti")["cards"][0]  # no bf16 below 8.0
    assert not turing["fits"] and "--weight-dtype fp16" in turing["problems"][0]
    assert _doc(cli, "--gpu", "2080 ti", "--weight-dtype", "fp16")["cards"][0]["problems"] == []
    assert _doc(cli, "--gpu", "t4", "--weight-dtype", "awq")["cards"][0]["problems"] == []
    fp8 = _doc(cli, "--gpu", "t4", "--weight-dtype", "fp8")["cards"][0]  # Marlin FP8 from 8.0
    assert not fp8["fits"] and "8.0" in fp8["problems"][0]
