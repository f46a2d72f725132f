"""plan --task infer with llama.cpp and Ollama from the command line: the engine chosen by the
weights or --engine, Ollama's context by the card's memory, partial offload when the model does
not fit, and bad flags refused in one line (hypothesis over the new flags)."""

from __future__ import annotations

import json

from hypothesis import given
from hypothesis import strategies as st

from tests.checks import command_loads_none_of, finite_document, fixture_ok, one_line

PLAN = ("plan", "llama-3.1-8b", "--task", "infer", "--no-search")


def _doc(cli, *args: str) -> dict:
    r = cli(*PLAN, *args, "--json")
    assert r.code == 0, r.err
    return finite_document(r.out)


def test_a_gguf_type_means_llama_cpp_and_all_layers_fit_a_3090(cli):
    doc = _doc(cli, "--weight-dtype", "Q4_K_M", "--gpu", "3090", "--seq", "8192")
    assert doc["engine"]["name"] == "llama.cpp" and doc["engine"]["weight_type"] == "q4_k_m"
    card = doc["cards"][0]
    assert card["offload"] == {
        "gpu_layers": 33,
        "total_layers": 33,
        "host_bytes": card["offload"]["host_bytes"],
        "n_ctx": 8192,
    }
    # token_embd (q4_k, 128256 x 4096) is all that stays in host RAM
    assert card["offload"]["host_bytes"] == 128256 * 4096 // 256 * 144
    assert card["memory"]["breakdown"]["kv_cache"] == 32 * 2 * 8 * 128 * 8192 * 2
    # published: 3090, Llama-3-8B Q4_K_M, tg512 115 t/s (llamabench.json)
    assert 80 < card["time"]["decode_tokens_per_s"] < 150
    assert card["fits"]


def test_transformers_stays_the_default_and_its_document_unchanged(cli):
    doc = _doc(cli, "--weight-dtype", "bf16", "--gpu", "3090")
    assert "engine" not in doc and "offload" not in doc["cards"][0]
    doc = _doc(cli, "--gpu", "3090")
    assert "engine" not in doc


def test_ollama_takes_its_context_from_the_cards_memory(cli):
    def n_ctx(card: str) -> int:
        doc = _doc(cli, "--engine", "ollama", "--gpu", card)
        assert doc["engine"]["defaults_from"].startswith("https://github.com/ollama/ollama/")
        assert doc["engine"]["weight_type"] == "q4_k_m"  # Ollama's library default
        return int(doc["cards"][0]["offload"]["n_ctx"])

    assert n_ctx("4060") == 4096  # 8 GB
    assert n_ctx("3090") == 32768  # 24 GB
    assert n_ctx("a100-sxm-80gb") == 131072  # 262144 for 80 GB, capped at Llama-3.1's context
    doc = _doc(cli, "--engine", "ollama", "--gpu", "3090", "--seq", "2048")
    assert doc["cards"][0]["offload"]["n_ctx"] == 2048  # --seq wins


def test_a_70b_on_one_3090_offloads_the_rest_and_decodes_slower(cli):
    r = cli(
        "plan",
        "llama-3.1-70b",
        "--task",
        "infer",
        "--weight-dtype",
        "q4_k_m",
        "--gpu",
        "3090",
        "--seq",
        "8192",
        "--no-search",
        "--json",
    )
    card = finite_document(r.out)["cards"][0]
    off = card["offload"]
    assert 0 < off["gpu_layers"] < off["total_layers"] == 81
    assert off["host_bytes"] > 15 * 2**30  # 42 GiB of weights and KV, 24 GB on the card
    assert not card["fits"]  # it runs, with 40 layers in host RAM: it does not fit the card
    assert card["headroom_bytes"] >= 0  # what is on the card fits it
    assert card["time"]["decode_tokens_per_s"] < 5
    slow = cli(
        "plan",
        "llama-3.1-70b",
        "--task",
        "infer",
        "--weight-dtype",
        "q4_k_m",
        "--gpu",
        "3090",
        "--seq",
        "8192",
        "--no-search",
        "--json",
        "--host-bandwidth",
        "30GB/s",
    )
    assert (
        finite_document(slow.out)["cards"][0]["time"]["decode_tokens_per_s"]
        < card["time"]["decode_tokens_per_s"]
    )


def test_fewer_gpu_layers_put_more_in_host_ram(cli):
    a = _doc(cli, "--weight-dtype", "q8_0", "--gpu", "3090", "--gpu-layers", "10")
    b = _doc(cli, "--weight-dtype", "q8_0", "--gpu", "3090", "--gpu-layers", "20")
    assert a["cards"][0]["offload"]["gpu_layers"] == 10
    assert a["cards"][0]["offload"]["host_bytes"] > b["cards"][0]["offload"]["host_bytes"]
    assert (
        a["cards"][0]["memory"]["breakdown"]["weights"]
        < b["cards"][0]["memory"]["breakdown"]["weights"]
    )


def test_bad_engine_flags_are_one_line(cli):
    one_line(cli(*PLAN, "--engine", "vllmx"), "--engine", "llama.cpp")
    one_line(cli(*PLAN, "--weight-dtype", "q4_k_m", "--gpu-layers", "34"), "--gpu-layers", "33")
    one_line(cli(*PLAN, "--weight-dtype", "q4_k_m", "--gpu-layers=-1"), "--gpu-layers")
    one_line(cli(*PLAN, "--weight-dtype", "q4_k_m", "--gpu-layers", "lots"), "--gpu-layers")
    one_line(cli(*PLAN, "--weight-dtype", "q4_k_m", "--ubatch", "0"), "--ubatch")
    one_line(
        cli(*PLAN, "--weight-dtype", "q4_k_m", "--kv-dtype", "q4_0", "--flash-attn", "off"),
        "flash",
    )
    one_line(cli(*PLAN, "--gpu-layers", "10"), "--engine llama.cpp")  # transformers
    one_line(cli(*PLAN, "--engine", "transformers", "--weight-dtype", "q4_k_m"), "GGUF")
    one_line(cli(*PLAN, "--kv-dtype", "q8_0"), "llama.cpp")
    one_line(cli("plan", "llama-3.1-8b", "--engine", "llama.cpp"), "--task infer")
    one_line(cli(*PLAN, "--engine", "llama.cpp", "--weight-dtype", "int8"), "GGUF")
    one_line(cli(*PLAN, "--weight-dtype", "q4_k_m", "--host-bandwidth", "fast"), "GB/s")
    one_line(cli(*PLAN, "--weight-dtype", "q4_k_m", "--precision", "fp16"), "--precision")


_FLAG_VALUES = st.one_of(
    st.text(max_size=12),
    st.integers(-5, 200).map(str),
    st.sampled_from(["auto", "on", "off", "33", "0", "60GB/s", "nan", "inf", "1e9", "-0"]),
)


@fixture_ok
@given(
    flag=st.sampled_from(
        ["--gpu-layers", "--flash-attn", "--host-bandwidth", "--engine", "--kv-dtype", "--ubatch"]
    ),
    value=_FLAG_VALUES,
)
def test_any_value_of_the_new_flags_plans_or_is_one_line(cli, flag, value):
    r = cli(*PLAN, "--weight-dtype", "q4_k_m", "--gpu", "3060", f"{flag}={value}", "--json")
    if r.code == 0:
        doc = finite_document(r.out)
        assert doc["cards"][0]["offload"]["gpu_layers"] <= 33
        return
    assert r.code == 2 and "Traceback" not in r.err, r.err
    assert r.err.count("\n") == 1, r.err
    json.loads(r.out)  # --json: the error document


def test_llama_plans_import_no_torch():
    command_loads_none_of(
        ["plan", "llama-3.1-8b", "--task", "infer", "--weight-dtype", "q4_k_m", "--json"],
        ("torch", "transformers"),
    )


# XiongjieDai/GPU-Benchmarks-on-LLM-Inference README (commit 00dd2bd), llama-bench tg512 of
# Llama-3-70B Q4_K_M on two cards, May 2024: 16.57 t/s on 2 x RTX 3090, 19.22 on 2 x RTX 4090
TWO_CARDS = {"3090": 16.57, "4090": 19.22}


def test_a_70b_in_4_bits_fits_two_3090s_at_8k_split_by_layers(cli):
    r = cli(
        "plan",
        "llama-3.1-70b",
        "--task",
        "infer",
        "--weight-dtype",
        "q4_k_m",
        "--gpu",
        "3090",
        "--gpus",
        "2",
        "--seq",
        "8192",
        "--json",
    )
    assert r.code == 0, r.err
    card = finite_document(r.out)["cards"][0]
    assert card["name"] == "GeForce RTX 3090 + GeForce RTX 3090"
    assert card["fits"] and card["offload"]["gpu_layers"] == 81
    per = card["per_gpu"]
    assert [g["layers"] for g in per] and sum(g["layers"] for g in per) == 80
    assert [g["output_layer"] for g in per] == [False, True]  # the output layer comes last
    assert all(g["memory_bytes"] <= g["usable_memory_bytes"] for g in per)
    assert abs(per[0]["layers"] - per[1]["layers"]) <= 2  # equal cards, equal shares


def test_two_cards_decode_like_the_published_two_card_rows(cli):
    assert len(TWO_CARDS) == 2
    for card, published in TWO_CARDS.items():
        r = cli(
            "plan",
            "llama-3.1-70b",
            "--task",
            "infer",
            "--weight-dtype",
            "q4_k_m",
            "--gpu",
            card,
            "--gpus",
            "2",
            "--seq",
            "512",
            "--no-search",
            "--json",
        )
        decode = finite_document(r.out)["cards"][0]["time"]["decode_tokens_per_s"]
        assert abs(decode / published - 1) < 0.30, (card, decode)


def test_a_training_strategy_with_llama_cpp_is_one_line(cli):
    one_line(
        cli(*PLAN, "--weight-dtype", "q4_k_m", "--gpus", "2", "--strategy", "zero3"), "--strategy"
    )


def test_a_mixed_machine_is_one_entry_split_by_each_cards_memory(cli):
    r = cli(
        "plan",
        "llama-3.1-70b",
        "--task",
        "infer",
        "--weight-dtype",
        "q4_k_m",
        "--gpu",
        "4090+3090",
        "--gpu",
        "2x3090",
        "--seq",
        "8192",
        "--json",
    )
    assert r.code == 0, r.err
    mixed, pair = finite_document(r.out)["cards"]
    assert mixed["name"] == "GeForce RTX 4090 + GeForce RTX 3090"
    assert pair["name"] == "GeForce RTX 3090 + GeForce RTX 3090"
    assert mixed["fits"] and pair["fits"]
    assert [g["name"] for g in mixed["per_gpu"]] == ["GeForce RTX 4090", "GeForce RTX 3090"]
    # the 4090 reads faster: the same split decodes faster than on two 3090s
    assert mixed["time"]["decode_tokens_per_s"] > pair["time"]["decode_tokens_per_s"]


def test_bad_machines_are_one_line(cli):
    infer = ("plan", "llama-3.1-8b", "--task", "infer", "--weight-dtype", "q4_k_m")
    one_line(cli(*infer, "--gpu", "4090+"), "4090+3090")
    one_line(cli(*infer, "--gpu", "0x3090"), "2x3090")
    one_line(cli(*infer, "--gpu", "99x3090"), "2x3090")
    one_line(cli(*infer, "--gpu", "4090+nosuchcard"), "nosuchcard")
    one_line(cli("plan", "llama-3.1-8b", "--gpu", "2x3090"), "llama.cpp")  # training


@fixture_ok
@given(name=st.text(alphabet="0123456789x+ 4090abc", min_size=1, max_size=14))
def test_any_machine_name_plans_or_is_one_line(cli, name):
    r = cli(*PLAN, "--weight-dtype", "q4_k_m", f"--gpu={name}", "--json")
    if r.code == 0:
        finite_document(r.out)
        return
    assert r.code == 2 and "Traceback" not in r.err, r.err
    assert r.err.count("\n") == 1, r.err
