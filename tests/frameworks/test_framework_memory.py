"""Each framework's plan against its own published memory figures
(tests/accuracy/published/framework_memory.json, scripts/framework_memory_table.py): the
README's table is the script's output, every row quotes its source, and every row is within its
kind's tolerance but the gaps listed here, each with why."""

from __future__ import annotations

import json
import re
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "scripts"))

import framework_memory_table as fmt  # noqa: E402

ROWS = fmt.data()["rows"]
SOURCES = fmt.data()["sources"]

#: Rows (1-based, as the README numbers them) further from gpuwise than their kind's tolerance,
#: and why. Each is a default or kernel the plan does not model yet, or a figure that measures
#: something else than the step gpuwise plans.
KNOWN_GAPS = {
    # unsloth's own Triton kernels (LoRA MLP / QKV / O with a hand-written backward, in-place
    # SwiGLU, RMSNorm and RoPE) keep fewer per-token temporaries in a layer's backward than the
    # reference step; gpuwise plans its checkpointing offload and chunked loss, not these
    # kernels, so the gap grows with the context (+35 % at 21,848 tokens, just inside; +50 % at
    # 40,724, +87 % at 342,733).
    3: "unsloth kernels",
    4: "unsloth kernels",
    5: "unsloth kernels",
    6: "unsloth kernels",
    7: "unsloth kernels",
    # LLaMA-Factory's 'x/2 GB' is the 4-bit weights alone (half a byte a parameter): no
    # activations, logits, adapters, optimizer or the 16-bit embeddings and LM head.
    17: "weights-only rule",
    # torchtune's table ran with torch.compile, which fuses the chunked loss's fp32 upcast
    # (the compiled cross-entropy keeps no fp32 log-probabilities) and the LoRA layers'
    # element-wise work; the recipe's default (compile: False) is what gpuwise plans. Without
    # checkpointing (the A6000 rows) the activations a compiled layer saves dominate. The full
    # fine-tune on a 4090 (row 20) is +21 % once the plan steps each parameter in the backward
    # (optimizer_in_bwd, +139 % before): its fp32 loss transients and the LM head's step at the
    # head's backward are what compile's fused loss leaves out.
    20: "torch.compile",
    21: "torch.compile",
    22: "torch.compile",
    23: "torch.compile",
    24: "torch.compile",
}


def test_readme_table_is_the_scripts_output() -> None:
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    found = re.search(
        r"<!-- framework_memory_table -->\n(.*?)<!-- /framework_memory_table -->",
        readme,
        re.S,
    )
    assert found, "README.md has no framework_memory_table block"
    assert found.group(1) == fmt.table()


def test_each_row_quotes_its_source() -> None:
    assert ROWS
    for row in ROWS:
        source = SOURCES[row["source"]]
        assert source["url"].startswith("https://")
        assert row["cite"] in source["words"], row["label"]
        assert row["kind"] in fmt.TOLERANCE


def test_rows_within_tolerance_but_the_known_gaps() -> None:
    outside = {}
    for i, row in enumerate(ROWS, 1):
        err = fmt.row_error(row)
        if abs(err) > fmt.TOLERANCE[row["kind"]]:
            outside[i] = round(100 * err)
    assert set(outside) == set(KNOWN_GAPS), outside


@pytest.mark.parametrize("framework", ["unsloth", "transformers", "torchtune", "llamafactory"])
def test_each_framework_has_a_published_row(framework: str) -> None:
    assert any(r["framework"] == framework for r in ROWS)


def test_reference_step_holds_on_the_hf_rows() -> None:
    """transformers + peft (Hugging Face + FA2 in unsloth's table) is the reference step: its
    six card-size rows are within 20 %, none over the card by more than 5 %."""
    errors = [fmt.row_error(r) for r in ROWS if r["framework"] == "transformers"]
    assert len(errors) == 6
    assert all(-0.20 <= e <= 0.05 for e in errors), errors


def test_data_file_is_json_with_sources() -> None:
    d = json.loads(fmt.DATA.read_text(encoding="utf-8"))
    assert len(d["sources"]) == 4 and d["rows"]
    for key, source in d["sources"].items():
        assert source["words"] and source["title"] and source["commit"], key


def test_torchtune_full_is_held_by_optimizer_in_bwd():
    """Row 20, torchtune's full fine-tune of Llama-3.1-8B on a 4090 (18.9 GiB): within 25 %
    because the plan applies torchtune's optimizer_in_bwd (no full set of gradients; the rest
    is torch.compile's loss, as rows 22 to 24); without it the plan counts 16 GB more of bf16
    gradients and is more than twice the figure."""
    row = ROWS[19]
    assert row["framework"] == "torchtune" and row["workload"]["method"] == "full"
    assert abs(fmt.row_error(row)) <= 0.25
    spec, w = fmt.framework_plan(row["framework"], row["model"], row["workload"])
    assert w.optimizer_in_bwd
    from gpuwise.plan import estimate_memory

    without = estimate_memory(spec, w.with_(optimizer_in_bwd=False)).peak_allocated_bytes
    assert without > 2 * row["published"] * 2**30


def test_readme_says_the_unsloth_slope_the_rows_give():
    """The README's per-token growth of unsloth's context rows (1 to 7) and of gpuwise's plan
    of them, in kB, is what the rows and the plan give."""
    rows = ROWS[:7]
    assert all(r["source"] == "unsloth-context" and r["framework"] == "unsloth" for r in rows)
    span = rows[-1]["workload"]["seq"] - rows[0]["workload"]["seq"]
    published = (rows[-1]["published"] - rows[0]["published"]) * 2**30 / span
    ours = (fmt.row_bytes(rows[-1]) - fmt.row_bytes(rows[0])) / span
    words = " ".join((ROOT / "README.md").read_text(encoding="utf-8").split())
    said = (
        f"its rows grow by {published / 1e3:.0f} kB per token of context, "
        f"gpuwise's unsloth plan by {ours / 1e3:.0f} kB"
    )
    assert said in words
