"""The per-layer training step model (timing/step.py) and its calibration on published rows
(tests/accuracy/published/throughput.json, scripts/published_comparison.py)."""

from __future__ import annotations

import math
import sys
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from gpuwise.catalog import load_catalog
from gpuwise.models import load_model
from gpuwise.parallel import Parallel
from gpuwise.record import replace
from gpuwise.timing import step
from gpuwise.timing.estimate import train_time
from gpuwise.timing.parallel import parallel_train_time
from gpuwise.workload import Workload

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "scripts"))

import published_comparison as pc  # noqa: E402


@pytest.fixture(scope="module")
def catalog():
    return load_catalog()


def test_gpt2_at_batch_one_is_launch_bound_far_below_half_the_peak(catalog):
    gpt2 = load_model("gpt2")
    card = catalog.find("rtx 4090")
    small = train_time(gpt2, Workload(batch=1, seq=512), card)
    assert small.step.launch_bound
    assert small.mfu < 0.25
    # a batch large enough to fill the card leaves launches behind and reaches more of the peak
    big = train_time(gpt2, Workload(batch=16, seq=1024), card)
    assert not big.step.launch_bound
    assert big.mfu > 2 * small.mfu


def test_big_models_at_big_batches_reach_the_fitted_matmul_efficiency(catalog):
    card = catalog.find("a100 sxm 80gb")
    t = train_time(load_model("llama-3.1-8b"), Workload(batch=4, seq=2048), card)
    fitted = step.constants().matmul_efficiency("Ampere")
    assert 0.95 * fitted < t.step.matmul_efficiency <= fitted
    assert 0.6 * fitted < t.mfu < fitted


def test_lower_bandwidth_lowers_lora_efficiency_where_bandwidth_bound_parts_matter(catalog):
    spec = load_model("llama-3.1-8b")
    w = Workload(method="lora", batch=1, seq=2048, grad_checkpointing=True)
    slow = catalog.find("rtx 4060 ti 16gb")
    fast = catalog.find("rtx 4090")
    # the 4060 Ti's tensor rate with the 4090's bandwidth: the adapters, the loss and the
    # element-wise kernels get faster, the big matmuls do not
    wide = replace(slow, bandwidth_gb_s=fast.bandwidth_gb_s, slug="wide-4060-ti")
    t_slow, t_wide = train_time(spec, w, slow), train_time(spec, w, wide)
    assert t_slow.mfu < 0.93 * t_wide.mfu
    assert t_slow.step.memory_s > 3 * t_wide.step.memory_s
    assert t_slow.step.matmul_s == pytest.approx(t_wide.step.matmul_s, rel=0.05)


def test_zero3_offload_lora_on_a_1080_ti_is_much_slower_than_on_card(catalog):
    spec = load_model("llama-3.2-1b")
    card = catalog.find("gtx 1080 ti")
    w = Workload(method="lora", batch=1, seq=1024, precision="fp32")
    on_card = train_time(spec, w, card).train_tokens_per_s
    offload = parallel_train_time(spec, w, card, Parallel("zero3-offload", 1))
    # every micro-batch fetches the fp32 weights over PCIe 3.0 for the forward and the backward,
    # and DeepSpeed prefetches only a small bucket ahead
    assert offload.train_tokens_per_s < 0.7 * on_card
    assert offload.exposed_comm_s > 0.5 * offload.comm_s


def test_fsdp_cpu_offload_prefetches_whole_layers_and_stays_close(catalog):
    # Answer.AI's 2 x 4090 runs: FSDP with CPU offload within a few per cent of without
    spec = pc._spec("llama-2-7b")
    w = Workload(method="lora", batch=10, seq=2048, grad_checkpointing=True, lora_rank=64)
    card = catalog.find("rtx 4090")
    off = parallel_train_time(spec, w, card, Parallel("fsdp-offload", 2)).train_tokens_per_s
    on = parallel_train_time(spec, w, card, Parallel("fsdp", 2)).train_tokens_per_s
    assert 0.85 * on < off <= on


# -- the published rows -----------------------------------------------------------------------

ROWS = pc.throughput_rows()
#: Rows further than 35 % from gpuwise, and why (the README's table lists them too).
KNOWN_GAPS = {
    23: "8 x RTX A5000 over PCIe on a cloud machine: slower than the link model says",
    24: "2 x RTX 6000 Ada cloud machine ran at half a 4090's speed per card",
    25: "4 x RTX 6000 Ada, the same machine",
    32: "torchtune LoRA with torch.compile, chunked loss and bf16 adapters",
    33: "torchtune QLoRA with torch.compile and torchao NF4",
    38: "A6000 rows: torchtune's settings not stated",
    39: "A6000 rows: torchtune's settings not stated",
}


def test_the_rows_cover_what_the_calibration_claims():
    cards = {r["card"] for r in ROWS}
    assert len(ROWS) >= 25 and len(cards) >= 6
    fit = [r for r in ROWS if r["split"] == "fit"]
    assert 0.55 <= len(fit) / len(ROWS) <= 0.7
    for r in ROWS:
        assert r["url"].startswith("https://") and r["reported"] and r["differences"]
        assert r["split"] in ("fit", "held-out")


@pytest.mark.parametrize("i", range(1, len(ROWS) + 1))
def test_every_published_row_is_within_35_percent_or_listed(i):
    row = ROWS[i - 1]
    err = pc.estimate(row) / row["published_tokens_per_s"] - 1
    if i in KNOWN_GAPS:
        assert abs(err) > 0.35, f"row {i} is within 35 % now: take it off KNOWN_GAPS"
    else:
        assert abs(err) <= 0.35, f"row {i}: {err:+.0%}"


def test_share_within_35_percent_and_held_out_error():
    errs = {r["split"]: [] for r in ROWS}
    for r in ROWS:
        errs[r["split"]].append(abs(pc.estimate(r) / r["published_tokens_per_s"] - 1))
    every = errs["fit"] + errs["held-out"]
    assert sum(e <= 0.35 for e in every) / len(every) >= 0.7
    # the held-out rows (torch.compile, other frameworks' kernels among them) do worse than
    # the fitted ones, but most still fall within 35 %
    held = errs["held-out"]
    assert sum(e <= 0.35 for e in held) / len(held) >= 0.6


def test_the_range_is_the_spread_of_the_fit_rows_residuals():
    fit = [r for r in ROWS if r["split"] == "fit"]
    ratios = sorted(math.exp(-e) for e in pc.log_errors(fit))
    band = step.step_data()["range"]
    assert band["low"] == pytest.approx(pc._quantile(ratios, 0.1), abs=0.006)
    assert band["high"] == pytest.approx(pc._quantile(ratios, 0.9), abs=0.006)
    inside = sum(band["low"] <= x <= band["high"] for x in ratios)
    assert inside >= 0.75 * len(ratios)


def test_fitted_efficiencies_are_a_local_optimum_of_the_fit():
    catalog = load_catalog()
    fit = [r for r in ROWS if r["split"] == "fit"]
    c = step.constants()
    assert c.e_mm
    for arch, value in c.e_mm:
        mine = [r for r in fit if catalog.find(r["card"]).architecture == arch]
        assert mine, arch

        def loss(x: float, arch: str = arch, mine: list = mine) -> float:
            trial = replace(c, e_mm=tuple({**dict(c.e_mm), arch: x}.items()))
            with step.trying(trial):
                return sum(e * e for e in pc.log_errors(mine))

        assert loss(value) <= min(loss(value - 0.02), loss(min(1.0, value + 0.02))), arch


def test_every_constant_names_its_source_fit_or_assumption():
    data = step.step_data()
    assert "matmul_efficiency" in data and "range" in data
    for key, entry in data.items():
        if key == "note":
            continue
        kind = entry["kind"]
        assert entry.get("why") or entry.get("by_architecture"), key
        assert "assumption" in kind or "fitted" in kind or entry.get("sources"), key


def test_architectures_without_rows_take_the_stated_default(catalog):
    c = step.constants()
    for name in ("rtx 5090 d", "gtx 1080 ti", "rtx 2080 ti", "v100 sxm2 32gb"):
        card = catalog.find(name)
        assert card.architecture not in dict(c.e_mm)
        assert c.matmul_efficiency(card.architecture) == c.e_mm_default


# -- any workload -----------------------------------------------------------------------------


@settings(max_examples=40, deadline=None)
@given(
    st.sampled_from(["gpt2", "qwen2.5-0.5b", "llama-3.2-1b", "mixtral-8x7b"]),
    st.sampled_from(["rtx 4090", "rtx 3060", "gtx 1080 ti", "h100 sxm", "t4", "rtx 5090 d"]),
    st.sampled_from(["full", "lora", "qlora"]),
    st.integers(1, 64),
    st.integers(1, 16384),
    st.booleans(),
)
def test_any_step_has_a_finite_time_inside_its_range(model, card, method, batch, seq, ckpt):
    spec = load_model(model)
    c = load_catalog().find(card)
    precision = "bf16" if c.has("bf16") else "fp16"
    w = Workload(method=method, batch=batch, seq=seq, grad_checkpointing=ckpt, precision=precision)
    t = train_time(spec, w, c)
    tps = t.train_tokens_per_s
    assert tps is not None and math.isfinite(tps) and tps > 0
    assert t.tokens_per_s_low < tps < t.tokens_per_s_high
    assert 0 < t.mfu < 1
    s = t.step
    assert s.compute_s == max(s.gpu_s, s.cpu_s)
    assert 0 < s.matmul_efficiency <= 1
