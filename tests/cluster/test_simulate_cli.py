"""``gpuwise probe MODEL --simulate --layout ...``: one rank of a layout beside the plan's stage.

The CLI picks the stage the cluster plan finds fullest, simulates it and prints both; bad or
unsimulated layouts are one line, exit 2. Tiny config (tests/cluster/configs), seconds a run.
"""

from __future__ import annotations

import importlib.util
import json
from pathlib import Path

import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

TINY = str(Path(__file__).with_name("configs") / "tiny-llama-tp.json")
needs_torch = pytest.mark.skipif(
    not all(importlib.util.find_spec(m) for m in ("torch", "transformers", "peft")),
    reason="needs the [probe] extra",
)


@pytest.mark.parametrize(
    ("flags", "words"),
    [
        (["--layout", "auto"], "not auto"),
        (["--layout", "tp=3", "--gpus", "3"], "layout"),  # tp must divide the heads
        (["--layout", "cp=2", "--gpus", "2"], "context parallel"),
        (["--layout", "tp=2,pp=2", "--gpus", "8"], "ddp"),  # dp=2 over ddp is not simulated
        (["--layout", "tp=2", "--gpus", "2", "--measure"], "--measure"),
    ],
)
def test_a_layout_it_cannot_simulate_is_one_line_exit_2(cli, flags, words):
    args = ["probe", TINY, "--batch", "1", "--seq", "32", *flags]
    if "--measure" not in flags:
        args.append("--simulate")
    r = cli(*args)
    assert r.code == 2, r.out
    assert len(r.err.strip().splitlines()) == 1 and words in r.err and "Traceback" not in r.err


@settings(
    max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(text=st.text(max_size=30))
def test_any_layout_text_it_cannot_take_is_one_line(cli, text):
    """Malformed --layout text never gets as far as torch: one line, exit 2 (or a layout
    that parses, which this test does not run)."""
    from gpuwise.cluster.layout import parse_layout
    from gpuwise.errors import GpuwiseError

    try:
        parse_layout(text, 8)
    except GpuwiseError:
        pass
    else:
        assume(False)  # text that is a layout is run by the tests around this one
    r = cli("probe", TINY, "--simulate", "--layout", text, "--batch", "1", "--seq", "32")
    assert r.code == 2
    assert len(r.err.strip().splitlines()) == 1 and "Traceback" not in r.err


@needs_torch
def test_json_has_the_simulated_rank_beside_the_plans_stage(cli):
    r = cli(
        "probe", TINY, "--simulate", "--layout", "pp=2,mb=2", "--gpus", "2",
        "--batch", "1", "--seq", "32", "--json",
    )  # fmt: skip
    assert r.code == 0, r.err
    doc = json.loads(r.out)
    c, memory, analytic = doc["cluster"], doc["memory"], doc["analytic"]
    assert c["stages"] == 2 and c["layers"] in ([0, 4], [4, 8])
    assert c["layout"].startswith("tp=1,pp=2")
    breakdown = {k: v for k, v in memory["breakdown"].items() if k != "overhead"}
    assert sum(breakdown.values()) == memory["peak_allocated_bytes"]
    assert sum(memory["detail"].values()) == memory["peak_allocated_bytes"]
    assert 1 <= memory["in_flight"] <= 2 or memory["peak_phase"] == "optimizer"
    sim = memory["peak_allocated_bytes"]
    assert doc["error"] == pytest.approx((analytic["peak_allocated_bytes"] - sim) / sim)
    assert abs(doc["error"]) <= 0.05
    assert analytic["required_bytes"] > analytic["peak_allocated_bytes"]
