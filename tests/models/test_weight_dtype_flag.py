"""--weight-dtype for plan --task infer takes every weight type in any case; AWQ / GPTQ / FP8
weights are counted in their checkpoint layouts; anything else is one line naming the types."""

from __future__ import annotations

import json

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from gpuwise.models import load_model
from gpuwise.models.weight_types import ALIASES, WEIGHT_TYPES, weights_bytes

from ..checks import one_line


@pytest.mark.parametrize("typed,key", [("AWQ", "awq"), ("gptq", "gptq"), ("FP8", "fp8")])
def test_checkpoint_weights_in_the_plan(cli, typed, key):
    r = cli("plan", "llama-3.1-8b", "--task", "infer", "--weight-dtype", typed, "--gpu", "4090")
    assert r.code == 0, r.err
    r = cli(
        "plan",
        "llama-3.1-8b",
        "--task",
        "infer",
        "--weight-dtype",
        typed,
        "--gpu",
        "4090",
        "--json",
    )
    doc = json.loads(r.out)
    assert doc["memory"]["breakdown"]["weights"] == weights_bytes(load_model("llama-3.1-8b"), key)


def test_awq_is_a_quarter_of_bf16_and_more():
    """4 bits a weight plus a 16-bit scale and a 4-bit zero per group of 128 (AutoAWQ's
    GEMM layout); embeddings and the LM head stay 16-bit."""
    spec = load_model("llama-3.1-8b")
    linear = sum(b.weight_numel * b.count for b in spec.blocks if b.linear and b.part != "lm_head")
    rest = 2 * (spec.params - linear)
    assert weights_bytes(spec, "awq") == rest + linear // 2 + linear // 128 * 5 // 2
    gptq = weights_bytes(spec, "gptq")
    in_columns = sum(
        b.in_features * b.count for b in spec.blocks if b.linear and b.part != "lm_head"
    )
    assert gptq == weights_bytes(spec, "awq") + 4 * in_columns  # g_idx: an int32 per column


def test_old_values_unchanged(cli):
    """bf16 / fp16 / int8 / nf4 plans as before: bitsandbytes' layouts."""
    from gpuwise.memory.weights import weights_bytes as hf_bytes

    spec = load_model("llama-3.2-1b")
    for dtype in ("bf16", "int8", "nf4", "int4"):
        r = cli("plan", "llama-3.2-1b", "--task", "infer", "--weight-dtype", dtype, "--json")
        assert r.code == 0, r.err
        stored = "nf4" if dtype == "int4" else dtype
        assert json.loads(r.out)["memory"]["breakdown"]["weights"] == hf_bytes(spec, stored)


def test_probe_refuses_awq_in_one_line(cli):
    one_line(
        cli("probe", "llama-3.2-1b", "--task", "infer", "--weight-dtype", "awq", "--simulate"),
        "awq",
    )


@settings(
    max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(st.text(min_size=1, max_size=20).filter(lambda s: s.strip() and not s.startswith("-")))
def test_any_weight_dtype_is_a_plan_or_one_line(cli, text):
    r = cli("plan", "llama-3.2-1b", "--task", "infer", f"--weight-dtype={text}", "--json")
    key = text.strip().lower().replace("-", "_")
    if key in WEIGHT_TYPES or key in ALIASES or key in ("bf16", "fp16", "fp32", "int8", "nf4"):
        assert r.code == 0, r.err
    else:
        assert r.code == 2 and "Traceback" not in r.err
        assert r.err.count("\n") == 1 and "q4_k_m" in r.err and "awq" in r.err, r.err
