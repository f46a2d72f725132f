"""The analytic memory model behaves as memory does, far outside the shapes it was derived on."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from gpuwise.memory.terms import _table, dims_for, mode_key, stack_for, terms_for
from gpuwise.models import load_model
from gpuwise.plan import estimate_memory
from gpuwise.workload import Workload

PRESETS = [
    "llama-3.1-8b",
    "qwen2.5-7b",
    "gemma-3-1b",
    "phi-3-mini",
    "pythia-1.4b",
    "glm-4-9b",
    "qwen3-8b",
    "mistral-7b-v0.3",
    "gemma-2-9b",
    "gpt2",
]

workloads = st.builds(
    Workload,
    method=st.sampled_from(["full", "lora", "qlora"]),
    precision=st.sampled_from(["bf16", "amp-bf16", "fp32"]),
    grad_checkpointing=st.booleans(),
    batch=st.integers(1, 16),
    # from the shortest sequence the accuracy grid validates (below it, see
    # test_short_sequences_are_planned_as_simulated)
    seq=st.sampled_from([512, 2048, 8192, 32768]),
    optimizer=st.sampled_from(["adamw", "adamw-fused", "sgd", "adamw-8bit", "adafactor"]),
)


@settings(max_examples=150, deadline=None)
@given(name=st.sampled_from(PRESETS), w=workloads)
def test_more_tokens_never_need_less_memory(name, w):
    spec = load_model(name)
    if w.method == "qlora" and w.precision != "bf16":
        w = w.with_(precision="bf16")
    w = w.with_(allow_long_context=True)
    m = estimate_memory(spec, w)
    assert all(v >= 0 for v in m.breakdown.values())
    assert m.peak_allocated_bytes == sum(m.breakdown.values())
    longer = estimate_memory(spec, w.with_(seq=2 * w.seq)).peak_allocated_bytes
    bigger = estimate_memory(spec, w.with_(batch=2 * w.batch)).peak_allocated_bytes
    # the fitted terms carry small constants (valid over the shapes they were derived on), so
    # allow 16 MiB or 0.05 % of noise; a real decrease or a blow-up is far larger
    noise = max(16 << 20, m.peak_allocated_bytes // 2000)
    assert min(longer, bigger) >= m.peak_allocated_bytes - noise
    # doubling the tokens at most doubles what depends on them (4x what depends on seq^2 for
    # eager attention and masks), with 5 % and 512 MiB of slack for the phase that peaks changing
    fixed = m.breakdown["weights"] + m.breakdown["optimizer"]
    variable = m.peak_allocated_bytes - fixed
    assert bigger - fixed <= 2 * 1.05 * variable + (512 << 20)
    quadratic = 4 if spec.model_type in ("gemma2", "gemma3_text") or spec.sliding_window else 2
    assert longer - fixed <= quadratic * 1.05 * variable + (512 << 20)


#: Exact peaks of Gemma-2-9B, LoRA, fp32, SGD, without checkpointing, at seq 128, simulated with
#: `gpuwise probe gemma-2-9b --method lora --precision fp32 --optimizer sgd --seq 128
#: --batch B --simulate` (torch 2.13.0+cpu, transformers 5.24.0, peft 0.21.2, 2026-12-02):
#: activations 2,403,258,372 and 4,803,846,148 bytes at batch 1 and 2.
SHORT_SEQUENCE_SIMULATED = {1: 40_064_371_724, 2: 42_727_103_500}


@pytest.mark.xfail(
    strict=True,
    reason="below seq 512 (outside the accuracy grid) the fitted activation terms extrapolate "
    "to a negative constant: Gemma-2-9B fp32 LoRA at 1 x 128 plans 1.38 GB of activations "
    "where the step keeps 2.40 GB (peak -2.6 %)",
)
@pytest.mark.parametrize("batch", sorted(SHORT_SEQUENCE_SIMULATED))
def test_short_sequences_are_planned_as_simulated(batch):
    spec = load_model("gemma-2-9b")
    w = Workload(method="lora", precision="fp32", batch=batch, seq=128, optimizer="sgd")
    planned = estimate_memory(spec, w).peak_allocated_bytes
    assert planned == pytest.approx(SHORT_SEQUENCE_SIMULATED[batch], rel=0.01)


#: Sliding-window terms whose layer forward peak goes negative at long contexts: its fitted
#: ``b*nh*s*s`` coefficient is negative (fitted on seq <= 320), so a Mistral-7B-v0.1-like model
#: (every layer sliding, window 4096) plans a layer peak of -4 GiB at 1 x 32768 with
#: checkpointing. Strict: once memory/ fixes it, this mark must go.
NEGATIVE_AT_LONG_CONTEXT = pytest.mark.xfail(
    strict=True, reason="sliding layer_fwd_peak negative at long seq (fitted seq^2 term)"
)


@pytest.mark.parametrize(
    "model_type",
    [
        pytest.param(t, marks=NEGATIVE_AT_LONG_CONTEXT)
        if t in ("mistral+sliding", "gemma3_text+sliding")
        else t
        for t in sorted(_table()["terms"])
    ],
)
def test_every_kept_term_is_positive_on_real_shapes(model_type):
    """What layers keep is a size: positive for every mode at real sizes, short or long (the
    terms of ``model_type`` itself, at Llama-3.1-8B's dimensions)."""
    spec = load_model("llama-3.1-8b")
    base, _, variant = model_type.partition("+")
    modes = _table()["terms"][model_type]
    assert len(modes) >= 12
    for mode, forms in modes.items():
        terms = terms_for(base, mode, sliding=variant == "sliding")
        assert terms.model_type == model_type and "layer" in forms
        for seq in (512, 8192, 131072):
            d = dims_for(spec, 2, seq, 16)
            for window in ("layer", "loss_bwd_peak", "layer_fwd_peak"):
                if window in forms:
                    assert terms.eval(window, d) > 0 or mode.startswith("infer"), (
                        f"{model_type} {mode} {window} at seq {seq}"
                    )


def test_checkpointing_keeps_one_hidden_state_per_layer():
    spec = load_model("llama-3.1-8b")
    w = Workload(batch=1, seq=4096, grad_checkpointing=True)
    stack = stack_for(spec, mode_key("train", "bf16", "full", True), w.seq)
    d = dims_for(spec, w.batch, w.seq, 16)
    assert stack.layers(d) == spec.num_layers * w.tokens * spec.hidden_size * 2
