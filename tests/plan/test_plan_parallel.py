"""`gpuwise plan --gpus N --strategy S`: per-card memory, time with collectives, launch files."""

from __future__ import annotations

import json

import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from gpuwise.catalog import load_catalog
from gpuwise.models import load_model
from gpuwise.parallel import STRATEGIES, Parallel
from gpuwise.timing.parallel import card_link, parallel_train_time
from gpuwise.workload import Workload


def test_plan_json_is_per_gpu(cli):
    one = cli("plan", "llama-3.1-8b", "--gpu", "4090", "--grad-checkpointing", "--json").json()
    four = cli(
        "plan", "llama-3.1-8b", "--gpu", "4090", "--grad-checkpointing", "--gpus", "4", "--json"
    ).json()
    assert one["parallel"]["strategy"] == "single" and not one["parallel"]["memory_is_per_gpu"]
    par = four["parallel"]
    assert par["strategy"] == "fsdp" and par["gpus"] == 4 and par["memory_is_per_gpu"]
    assert par["global_batch"] == 4
    # sharding over 4 cards: each holds much less than the whole step
    assert four["memory"]["peak_allocated_bytes"] < one["memory"]["peak_allocated_bytes"] / 2
    t1, t4 = one["cards"][0]["time"], four["cards"][0]["time"]
    assert t4["train_tokens_per_s"] > t1["train_tokens_per_s"]
    assert t4["link"]["kind"] == "pcie-host"  # RTX 40: no NVLink, no P2P


def test_plan_emit_writes_files_that_match_the_plan(cli, tmp_path):
    out = tmp_path / "run"
    r = cli(
        "plan",
        "llama-3.2-1b",
        "--gpus",
        "4",
        "--strategy",
        "zero2",
        "--batch",
        "2",
        "--grad-accum",
        "3",
        "--emit",
        str(out),
        "--json",
    )
    assert r.code == 0, r.err
    assert sorted(p.rsplit("/", 1)[-1] for p in r.json()["emitted"]) == sorted(
        p.name for p in out.iterdir()
    )
    ds = json.loads((out / "ds_config.json").read_text())
    assert ds["zero_optimization"]["stage"] == 2
    assert ds["train_micro_batch_size_per_gpu"] == 2
    assert ds["gradient_accumulation_steps"] == 3
    assert ds["train_batch_size"] == 2 * 3 * 4
    acc = yaml.safe_load((out / "accelerate_config.yaml").read_text())
    assert acc["num_processes"] == 4 and acc["distributed_type"] == "DEEPSPEED"
    assert "meta-llama/Llama-3.2-1B" in (out / "launch.sh").read_text()
    again = cli("plan", "llama-3.2-1b", "--gpus", "4", "--emit", str(out))
    assert again.code == 2 and "--force" in again.err


def test_recommend_emit_writes_the_top_option(cli, tmp_path):
    out = tmp_path / "best"
    r = cli("recommend", "llama-3.2-1b", "--series", "RTX 40", "--emit", str(out), "--json")
    assert r.code == 0, r.err
    top = next(o for o in r.json()["options"] if o["ok"])
    acc = yaml.safe_load((out / "accelerate_config.yaml").read_text())
    assert acc["num_processes"] == top["count"]
    nothing = cli("recommend", "llama-3.1-70b", "--budget", "100", "--emit", str(tmp_path / "x"))
    assert nothing.code == 2 and "no option fits" in nothing.err


@pytest.mark.parametrize(
    ("args", "needle"),
    [
        (("--gpus", "1", "--strategy", "ddp"), "--gpus 2 or more"),
        (("--gpus", "9"), "1 to 8"),
        (("--gpus", "2", "--strategy", "single"), "multi-card"),
        (("--gpus", "4", "--strategy", "fsdp-hybrid"), "--shard-size"),
        (("--gpus", "4", "--strategy", "fsdp-hybrid", "--shard-size", "3"), "divisor"),
        (("--gpus", "4", "--shard-size", "2"), "fsdp-hybrid only"),
        (("--gpus", "2", "--strategy", "zero2", "--optimizer", "adafactor"), "DeepSpeed"),
        (("--gpus", "2", "--strategy", "zero3", "--method", "qlora"), "qlora"),
        (("--gpus", "2", "--task", "infer"), "inference"),
        (("--gpus", "2", "--grad-accum", "0"), "--grad-accum"),
    ],
)
def test_bad_parallel_flags(cli, args, needle):
    r = cli("plan", "llama-3.2-1b", *args)
    assert r.code == 2, r.out
    assert needle in r.err and r.err.count("\n") == 1


@settings(
    max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    strategy=st.sampled_from(list(STRATEGIES)),
    gpus=st.integers(-2, 12),
    shard=st.one_of(st.none(), st.integers(-1, 9)),
    accum=st.integers(-1, 4),
)
def test_any_parallel_flags_give_a_plan_or_one_line(cli, strategy, gpus, shard, accum):
    args = ["plan", "llama-3.2-1b", "--gpu", "3090", "--no-search", "--json"]
    args += ["--strategy", strategy, "--gpus", str(gpus), "--grad-accum", str(accum)]
    if shard is not None:
        args += ["--shard-size", str(shard)]
    r = cli(*args)
    assert r.code in (0, 2)
    if r.code == 0:
        doc = r.json()
        assert doc["parallel"]["gpus"] == gpus and doc["memory"]["peak_allocated_bytes"] > 0
    else:
        assert r.err.count("\n") == 1 and "Traceback" not in r.err


def test_links_follow_the_hardware():
    cat = load_catalog()
    # 3090: NVLink bridge joins two cards; with four the ring crosses PCIe through the host
    assert card_link(cat.find("3090"), 2).kind == "nvlink"
    assert card_link(cat.find("3090"), 4).kind == "pcie-host"
    assert card_link(cat.find("4090"), 2).kind == "pcie-host"
    assert card_link(cat.find("h100-sxm-80gb"), 8).kind == "nvlink"
    assert card_link(cat.find("l40s"), 4).kind == "pcie-p2p"
    p2p = card_link(cat.find("l40s"), 4).gb_s
    host = card_link(cat.find("rtx-4090"), 4).gb_s
    assert host < p2p  # same PCIe 4.0 x16, but staged through host memory


def test_slower_links_cost_time_and_ddp_lora_moves_little():
    spec = load_model("llama-3.1-8b")
    cat = load_catalog()
    w = Workload(batch=1, seq=2048, grad_checkpointing=True)
    fsdp = Parallel("fsdp", 8)
    sxm = parallel_train_time(spec, w, cat.find("h100-sxm-80gb"), fsdp)
    pcie = parallel_train_time(spec, w, cat.find("h100-pcie-80gb"), fsdp)
    assert sxm.exposed_comm_s <= pcie.exposed_comm_s
    assert sxm.comm_s < pcie.comm_s
    lora = w.with_(method="lora")
    ddp_full = parallel_train_time(spec, w, cat.find("4090"), Parallel("ddp", 4))
    ddp_lora = parallel_train_time(spec, lora, cat.find("4090"), Parallel("ddp", 4))
    assert ddp_lora.comm_s < ddp_full.comm_s / 50  # only the adapters' gradients travel


def test_hybrid_shard_groups_use_their_own_link():
    """3090s joined in NVLink pairs: a hybrid shard over pairs moves its heavy traffic over
    NVLink and only the replicas' gradient all-reduce over PCIe."""
    spec = load_model("llama-3.1-8b")
    card = load_catalog().find("3090")
    w = Workload(batch=1, seq=2048, grad_checkpointing=True)
    full = parallel_train_time(spec, w, card, Parallel("fsdp", 4))
    pairs = parallel_train_time(spec, w, card, Parallel("fsdp-hybrid", 4, 2))
    assert full.link.kind == "pcie-host"
    assert pairs.comm_s < full.comm_s
    assert any("NVLink" in str(n) for n in pairs.notes)


def test_recommend_tries_every_hybrid_group_size():
    from gpuwise.recommend.options import candidates

    hybrid = [p.shard_size for p in candidates(8, 1, True) if p.strategy == "fsdp-hybrid"]
    assert hybrid == [2, 4]
    assert not [p for p in candidates(3, 1, True) if p.strategy == "fsdp-hybrid"]


def test_gradient_accumulation_on_one_card_keeps_gradients_through_the_forward(cli):
    base = ("plan", "llama-3.2-1b", "--gpu", "4090", "--batch", "4", "--no-search", "--json")
    one = cli(*base).json()
    four = cli(*base, "--grad-accum", "4").json()
    assert four["parallel"]["global_batch"] == 16
    # the optimizer step's peak is unchanged; the forward of a later micro-batch holds every
    # gradient too, so the peak can only grow
    assert four["memory"]["peak_allocated_bytes"] >= one["memory"]["peak_allocated_bytes"]
    t1, t4 = one["cards"][0]["time"], four["cards"][0]["time"]
    # the optimizer step runs once per 4 micro-batches: more tokens per second, not fewer
    assert t4["train_tokens_per_s"] >= t1["train_tokens_per_s"]
    infer = cli("plan", "llama-3.2-1b", "--task", "infer", "--grad-accum", "2")
    assert infer.code == 2 and "--grad-accum" in infer.err


def test_a_step_takes_at_least_its_traffic():
    """Collectives share one link: however much they overlap compute, a step is never shorter
    than the time its bytes take on the link."""
    from gpuwise.timing.parallel import comm_bytes

    spec = load_model("llama-3.1-8b")
    card = load_catalog().find("4090")
    w = Workload(batch=1, seq=2048, grad_checkpointing=True)
    for p in (Parallel("fsdp", 2), Parallel("zero3", 4), Parallel("ddp", 2), Parallel("zero2", 2)):
        t = parallel_train_time(spec, w, card, p)
        c = comm_bytes(spec, w, p)
        traffic = (c.gather + c.reduce + c.across + c.after_step) / (t.link.gb_s * 1e9)
        assert t.step_s >= traffic, p


def test_zero2_is_not_faster_than_ddp_for_the_same_traffic():
    """ZeRO-2 moves DDP's bytes (reduce-scatter + all-gather = all-reduce), and its all-gather
    runs in the optimizer step, behind nothing."""
    spec = load_model("llama-3.1-8b")
    card = load_catalog().find("4090")
    w = Workload(batch=1, seq=2048, grad_checkpointing=True)
    ddp = parallel_train_time(spec, w, card, Parallel("ddp", 2)).train_tokens_per_s
    zero2 = parallel_train_time(spec, w, card, Parallel("zero2", 2)).train_tokens_per_s
    assert zero2 <= ddp * 1.05


def test_fsdp_offload_keeps_no_gradient_shards_on_the_card():
    from gpuwise.memory.rank import per_rank_memory

    spec = load_model("llama-3.1-8b")
    w = Workload(batch=1, seq=2048, grad_checkpointing=True)
    off = per_rank_memory(spec, w, Parallel("fsdp-offload", 1))
    zero3 = per_rank_memory(spec, w, Parallel("zero3-offload", 1))
    # both keep weights, gradients and states in host RAM: neither holds 16 GB of gradients
    assert off.breakdown["gradients"] < 2 * GIB_BYTES
    assert off.required_bytes < 1.5 * zero3.required_bytes


GIB_BYTES = 1 << 30


def test_plan_advises_when_the_one_card_asked_for_is_too_small(cli):
    doc = cli("plan", "llama-3.1-8b", "--gpu", "3060", "--json").json()
    a = doc["advice"]
    assert a is not None and a["card"] == "GeForce RTX 3060" and not a["fits_as_asked"]
    assert a["required_bytes"] == doc["memory"]["required_bytes"]
    assert a["stacked"] is not None and a["stacked"]["fits"]
    assert cli("plan", "llama-3.2-1b", "--gpu", "4090", "--json").json()["advice"] is None
    two = cli("plan", "llama-3.1-8b", "--gpu", "3060", "--gpu", "4090", "--json").json()
    # each card asked for that does not fit gets its own (tests/plan/test_advice_everywhere.py)
    short = [c["name"] for c in two["cards"] if not c["fits"]]
    assert [a["card"] for a in two["card_advice"]] == short
