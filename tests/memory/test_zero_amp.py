"""DeepSpeed ZeRO under amp and 16-bit precisions (issue 14, part 5): which activations each
stage keeps and what it says.

Stages 1-2 hold whole fp32 weights, and autocast saves a 16-bit copy of each for backward, as on
one card. Stage 3's memory-efficient linear (``zero.Init`` replaces ``F.linear`` with
``LinearFunctionForZeroStage3``: deepspeed/runtime/zero/linear.py, DeepSpeed edaa722; on by
default, ``memory_efficient_linear`` in zero/config.py) saves the fp32 input and weight and casts
inside, so no copy is kept, as under FSDP's mixed precision. The simulator runs that Function
under autocast to show it.
"""

from __future__ import annotations

import pytest

from gpuwise.memory.train import train_phases
from gpuwise.models import load_model
from gpuwise.parallel import Parallel
from gpuwise.plan.fit import rank_memory
from gpuwise.workload import Workload

TINY = "tests/accuracy/configs/tiny-llama.json"


def _notes(m) -> str:
    return " ".join(str(n) for n in m.notes)


@pytest.mark.parametrize("model", ["qwen2.5-7b", "llama-3.2-1b"])
def test_zero3_under_amp_keeps_the_activations_fsdp_keeps(model):
    spec = load_model(model)
    w = Workload(method="full", precision="amp-bf16", batch=1, seq=2048)
    copies = train_phases(spec, w).phases["backward"]["activations"]
    none = train_phases(spec, w, weight_copies=False).phases["backward"]["activations"]
    assert copies > none  # autocast's 16-bit weight copies
    z2 = rank_memory(spec, w, Parallel("zero2", 4))
    z3 = rank_memory(spec, w, Parallel("zero3", 4))
    fsdp = rank_memory(spec, w, Parallel("fsdp", 4))
    assert z2 is not None and z3 is not None and fsdp is not None
    at_backward = {
        name: m.estimate.breakdown["activations"]
        for name, m in (("zero2", z2), ("zero3", z3), ("fsdp", fsdp))
        if m.estimate.peak_phase == "backward"
    }
    if "zero2" in at_backward:
        assert at_backward["zero2"] == copies
    if "zero3" in at_backward:
        assert at_backward["zero3"] == none
    if "zero3" in at_backward and "fsdp" in at_backward:
        assert abs(at_backward["zero3"] - at_backward["fsdp"]) <= 0.2 * at_backward["fsdp"]
    assert "keeps each linear's fp32 input and weight" in _notes(z3)
    assert "autocast's 16-bit copy of each weight is kept" in _notes(z2)


def test_16bit_deepspeed_says_it_keeps_fp32_masters_and_fsdp_that_it_does_not():
    spec = load_model("qwen2.5-7b")
    w = Workload(method="full", precision="bf16", batch=1, seq=1024)
    for stage in ("zero1", "zero2", "zero3"):
        m = rank_memory(spec, w, Parallel(stage, 4))
        assert m is not None
        assert "fp32 master weights with fp32 Adam states (12 bytes" in _notes(m), stage
    fsdp = rank_memory(spec, w, Parallel("fsdp", 4))
    assert fsdp is not None and "no fp32 master weights" in _notes(fsdp)
    amp = rank_memory(spec, w.with_(precision="amp-bf16"), Parallel("zero2", 4))
    assert amp is not None and "fp32 master weights with" not in _notes(amp)


def test_zero3s_linear_keeps_no_weight_copies_when_simulated():
    torch = pytest.importorskip("torch")
    pytest.importorskip("transformers")
    import gpuwise.probe.live_bytes as live_bytes
    from gpuwise.models.build import spec_from_config
    from gpuwise.models.resolve import resolve
    from gpuwise.probe.simulate import simulate

    class Zero3Linear(torch.autograd.Function):
        """DeepSpeed's LinearFunctionForZeroStage3 as it runs on one rank (the weight's
        gather and release aside): the input and the parameter saved, the cast inside."""

        @staticmethod
        def forward(x, weight, bias=None):
            out = x.matmul(weight.t())
            return out + bias if bias is not None else out

        @staticmethod
        def setup_context(ctx, inputs, output):
            ctx.save_for_backward(inputs[0], inputs[1])
            ctx.bias = len(inputs) > 2 and inputs[2] is not None

        @staticmethod
        def backward(ctx, grad):
            with torch.autocast("cpu", dtype=torch.bfloat16):
                x, weight = ctx.saved_tensors
                gx = grad.matmul(weight)
                gw = grad.reshape(-1, grad.shape[-1]).t().matmul(x.reshape(-1, x.shape[-1]))
                gb = grad.sum(list(range(grad.dim() - 1))) if ctx.bias else None
            return gx, gw, gb

    kept: list[int] = []

    class Recording(live_bytes.LiveBytes):
        """Notes what the forward left for backward as the backward starts."""

        def __setattr__(self, name, value):
            if name == "phase" and value == "backward":
                kept.append(self.totals["activations"])
            super().__setattr__(name, value)

    found = resolve(TINY)
    spec = spec_from_config(found.config, name=found.name, source=found.source, where=found.where)
    w = Workload(method="full", precision="amp-bf16", batch=2, seq=256)
    mp = pytest.MonkeyPatch()
    mp.setattr(live_bytes, "LiveBytes", Recording)
    try:
        simulate(found.config, spec, w)
        plain = kept[-1]
        mp.setattr(torch.nn.functional, "linear", Zero3Linear.apply)
        simulate(found.config, spec, w)
        zero3 = kept[-1]
    finally:
        mp.undo()
    # what the analytic terms say the 16-bit copies weigh is what the simulation loses
    phases = train_phases(spec, w)
    copies = phases.phases["backward"]["activations"]
    none = train_phases(spec, w, weight_copies=False).phases["backward"]["activations"]
    assert zero3 < plain
    assert abs((plain - zero3) - (copies - none)) <= 0.15 * (copies - none), (plain, zero3)
