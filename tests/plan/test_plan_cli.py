"""`gpuwise plan` as users rely on it: the JSON contract, the verdicts, the searches, the errors."""

from __future__ import annotations

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from gpuwise.catalog import load_catalog, usable_memory
from gpuwise.models import load_model
from gpuwise.plan import estimate_memory, make_plan
from gpuwise.workload import Workload

from ..checks import command_loads_none_of

GIB = 1 << 30
BREAKDOWN = {
    "weights",
    "gradients",
    "optimizer",
    "activations",
    "kv_cache",
    "temporaries",
    "overhead",
}


def test_plan_json_contract(cli):
    r = cli(
        "plan",
        "llama-3.2-1b",
        "--method",
        "lora",
        "--gpu",
        "3090",
        "--gpu",
        "4090",
        "--tokens",
        "10M",
        "--json",
    )
    assert r.code == 0 and r.err == ""
    doc = r.json()
    assert {"schema_version", "gpuwise_version", "catalog_date"} <= set(doc)
    mem = doc["memory"]
    assert set(mem["breakdown"]) == BREAKDOWN
    assert all(isinstance(v, int) for v in mem["breakdown"].values())
    parts = sum(v for k, v in mem["breakdown"].items() if k != "overhead")
    assert parts == mem["peak_allocated_bytes"]
    assert mem["required_bytes"] == mem["peak_allocated_bytes"] + mem["breakdown"]["overhead"]
    assert [c["name"] for c in doc["cards"]] == ["GeForce RTX 3090", "GeForce RTX 4090"]
    for c in doc["cards"]:
        assert c["headroom_bytes"] == c["usable_memory_bytes"] - mem["required_bytes"]
        assert c["fits"] == (c["headroom_bytes"] >= 0)
        t = c["time"]
        assert t["train_tokens_per_s"] > 0 and t["step_s"] > 0 and 0 < t["mfu"] < 1
        assert t["time_to_train_s"] == pytest.approx(10e6 / t["train_tokens_per_s"], rel=0.01)
        assert t["energy_kwh"] > 0


def test_infer_json_contract(cli):
    doc = cli(
        "plan",
        "qwen2.5-7b",
        "--task",
        "infer",
        "--weight-dtype",
        "int4",
        "--seq",
        "8192",
        "--gpu",
        "4060ti16",
        "--json",
    ).json()
    mem = doc["memory"]
    assert mem["breakdown"]["kv_cache"] > 0 and mem["breakdown"]["gradients"] == 0
    t = doc["cards"][0]["time"]
    assert t["prefill_tokens_per_s"] > 0 and t["decode_tokens_per_s"] > 0
    assert 0 < t["bandwidth_efficiency"] <= 1


def test_default_model_and_cards(cli):
    doc = cli("plan", "--json").json()
    assert doc["model"]["name"] and len(doc["cards"]) >= 4


def test_a_bigger_card_fits_what_a_smaller_one_does():
    spec = load_model("llama-3.1-8b")
    cat = load_catalog()
    cards = [cat.find(n) for n in ("3060", "3090", "a100-sxm-80gb", "h200 sxm")]
    plan = make_plan(spec, Workload(method="qlora", seq=1024), cards, search=False)
    fits = [c.fits for c in plan.cards]
    assert fits == sorted(fits)  # once it fits, every larger card fits too
    assert fits[-1]


def test_reserve_comes_off_the_headroom(cli):
    base = cli("plan", "gpt2", "--gpu", "3090", "--json").json()["cards"][0]
    less = cli("plan", "gpt2", "--gpu", "3090", "--reserve", "1.5", "--json").json()["cards"][0]
    assert base["headroom_bytes"] - less["headroom_bytes"] == round(1.5 * GIB)


@pytest.mark.parametrize("what", ["batch", "seq"])
def test_largest_batch_and_seq_fit_and_one_more_does_not(what):
    spec = load_model("llama-3.2-1b")
    card = load_catalog().find("4090")
    w = Workload(method="lora", batch=1, seq=1024)
    found = getattr(make_plan(spec, w, [card]).cards[0], f"max_{what}")
    usable = usable_memory(card).bytes
    assert found and found >= 1
    assert estimate_memory(spec, w.with_(**{what: found})).required_bytes <= usable
    if what == "seq" and found == spec.max_position_embeddings:
        return  # capped at the model's context
    assert estimate_memory(spec, w.with_(**{what: found + 1})).required_bytes > usable


def test_the_levers_users_pull_lower_the_peak():
    spec = load_model("llama-3.1-8b")

    def peak(**kw):
        return estimate_memory(spec, Workload(seq=2048, **kw)).peak_allocated_bytes

    assert peak(method="lora") < peak(method="full")
    assert peak(method="qlora") < peak(method="lora")
    assert peak(method="lora", grad_checkpointing=True) < peak(method="lora")
    assert peak(optimizer="adamw-8bit") < peak(optimizer="adamw")
    assert peak(optimizer="sgd") < peak(optimizer="adamw")
    assert peak(precision="fp32") > peak(precision="bf16")


def test_full_bf16_adamw_holds_weights_gradients_and_two_states():
    spec = load_model("llama-3.1-8b")
    m = estimate_memory(spec, Workload(batch=1, seq=128))  # short: the optimizer step peaks
    assert m.peak_phase == "optimizer"
    n = spec.params
    assert m.breakdown["weights"] == m.breakdown["gradients"] == 2 * n
    assert m.breakdown["optimizer"] == pytest.approx(4 * n, rel=1e-4)
    assert m.breakdown["temporaries"] == 2 * n  # foreach AdamW: sqrt of the second moments


def test_inference_cache_grows_with_context_and_shrinks_with_fp8():
    spec = load_model("llama-3.1-8b")

    def kv(**kw):
        return estimate_memory(spec, Workload(task="infer", **kw)).breakdown["kv_cache"]

    # grouped-query: 8 KV heads of 128, 32 layers, K and V, 2 bytes
    assert kv(seq=4096) == 4096 * 32 * 2 * 8 * 128 * 2
    assert kv(seq=8192) == 2 * kv(seq=4096)
    assert kv(seq=4096, kv_dtype="fp8") == kv(seq=4096) // 2


@pytest.mark.parametrize(
    ("args", "says"),
    [
        (["--batch", "0"], "--batch 0"),
        (["--seq", "200000"], "max_position_embeddings"),
        (["--method", "lora", "--lora-rank", "5000"], "hidden size"),
        (["--method", "qlora", "--precision", "fp32"], "qlora"),
        (["--method", "lora", "--lora-targets", "nope_proj"], "nope_proj"),
        (["--gpu", "rtx 9999"], "9999"),
        (["--tokens", "lots"], "--tokens"),
        (["--reserve", "-1"], "--reserve"),
        (["--task", "infer", "--method", "lora"], "--method lora"),
        (["--task", "infer", "--weight-dtype", "int3"], "--weight-dtype"),
        (["--weight-dtype", "int4"], "--task infer"),
        (["--lora-rank", "8"], "--method lora or qlora"),
        (["--lora-targets", "q_proj"], "--method lora or qlora"),
        (["--method", "lora", "--lora-targets", "all-linear,q_proj"], "all-linear"),
        (["--method", "lora", "--lora-rank", "0"], "--lora-rank 0"),
        (["--tokens", "1.5"], "whole number"),
    ],
)
def test_bad_workloads_are_one_line_exit_2(cli, args, says):
    r = cli("plan", "llama-3.2-1b", *args)
    assert r.code == 2 and r.out == ""
    assert says in r.err and len(r.err.strip().splitlines()) == 1 and "Traceback" not in r.err


def test_long_context_allowed_when_asked(cli):
    r = cli("plan", "gpt2", "--seq", "4096", "--allow-long-context", "--gpu", "3090", "--json")
    assert r.code == 0 and r.json()["workload"]["seq"] == 4096


FLAG_VALUES = {
    "--batch": st.one_of(st.integers(-5, 10**7).map(str), st.text(max_size=6)),
    "--seq": st.one_of(st.integers(-5, 10**9).map(str), st.text(max_size=6)),
    "--lora-rank": st.integers(-3, 10**5).map(str),
    "--tokens": st.text(max_size=8),
    "--reserve": st.text(max_size=6),
    "--precision": st.text(max_size=8),
    "--optimizer": st.sampled_from(["adamw", "sgd", "adam", ""]),
    "--lora-targets": st.text(max_size=12),
}


@settings(
    max_examples=80, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(flag=st.sampled_from(sorted(FLAG_VALUES)), data=st.data())
def test_any_flag_value_exits_0_or_2_without_traceback(cli, flag, data):
    value = data.draw(FLAG_VALUES[flag])
    if value.startswith("-"):
        value = " " + value  # argparse would read it as a flag; users quote such values
    r = cli(
        "plan", "gpt2", "--method", "lora", "--gpu", "3090", "--no-search", flag, value, "--json"
    )
    assert r.code in (0, 2), r.err
    assert "Traceback" not in r.err
    if r.code == 2:
        assert len(r.err.strip().splitlines()) == 1


def test_plan_never_imports_torch_or_transformers():
    args = ["plan", "llama-3.1-8b", "--method", "qlora", "--gpu", "3090", "--json"]
    command_loads_none_of(args, ("torch", "transformers"))


def test_plan_table_shows_the_json_numbers(cli):
    out = cli("plan", "gpt2", "--gpu", "3090").out
    doc = cli("plan", "gpt2", "--gpu", "3090", "--json").json()
    assert f"{doc['memory']['required_bytes']:,}" in out
    assert "…" not in out


def test_lora_targets_all_linear_is_case_blind_and_names_narrow_it(cli):
    def trainable(*args):
        doc = cli(
            "plan",
            "llama-3.2-1b",
            "--method",
            "lora",
            "--gpu",
            "3090",
            "--no-search",
            *args,
            "--json",
        ).json()
        return doc["memory"]["breakdown"]["optimizer"]

    assert trainable("--lora-targets", "ALL-LINEAR") == trainable()
    assert trainable("--lora-targets", "q_proj,v_proj") < trainable()


@pytest.mark.parametrize(
    ("args", "card", "problem"),
    [
        (["--task", "infer", "--weight-dtype", "fp8"], "3090", "fp8"),
        (["--task", "infer", "--kv-dtype", "fp8"], "a100-sxm-80gb", "fp8"),
        (["--method", "qlora"], "v100-sxm2-32gb", None),
    ],
)
def test_a_card_that_cannot_run_the_workload_does_not_fit(cli, args, card, problem):
    doc = cli("plan", "llama-3.2-1b", "--gpu", card, *args, "--json").json()
    c = doc["cards"][0]
    if problem is None:  # bitsandbytes 4-bit runs from compute capability 6.0: V100 is fine
        assert c["problems"] == [] and c["fits"]
    else:
        assert c["headroom_bytes"] > 0 and not c["fits"]
        assert any(problem in p for p in c["problems"]) and c["max_batch"] is None


def test_fp8_fits_where_the_card_has_it(cli):
    c = cli(
        "plan",
        "llama-3.2-1b",
        "--gpu",
        "4090",
        "--task",
        "infer",
        "--weight-dtype",
        "fp8",
        "--json",
    ).json()["cards"][0]
    assert c["fits"] and c["problems"] == []


def test_infer_tokens_give_a_time_to_generate(cli):
    t = cli(
        "plan", "llama-3.2-1b", "--gpu", "4090", "--task", "infer", "--tokens", "1M", "--json"
    ).json()["cards"][0]["time"]
    assert t["time_to_generate_s"] == pytest.approx(1e6 / t["decode_tokens_per_s"], rel=0.05)
