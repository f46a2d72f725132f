"""The simulator counts what torch's own MemTracker counts, and runs the reference step."""

from __future__ import annotations

import pytest

torch = pytest.importorskip("torch")
transformers = pytest.importorskip("transformers")

from torch._subclasses.fake_tensor import FakeTensorMode  # noqa: E402

from gpuwise.errors import GpuwiseError  # noqa: E402
from gpuwise.memory.train import trainable_tensors  # noqa: E402
from gpuwise.models import load_model  # noqa: E402
from gpuwise.models.resolve import resolve  # noqa: E402
from gpuwise.probe.live_bytes import LiveBytes  # noqa: E402
from gpuwise.workload import Workload  # noqa: E402

TINY = "tests/accuracy/configs/tiny-llama.json"


def _tiny_model():
    cfg = transformers.LlamaConfig(
        vocab_size=1000,
        hidden_size=128,
        intermediate_size=344,
        num_hidden_layers=3,
        num_attention_heads=4,
        num_key_value_heads=2,
    )
    return transformers.AutoModelForCausalLM.from_config(cfg, dtype=torch.bfloat16)


def _steps(model, opt, hook=None):
    for _ in range(2):
        ids = torch.randint(0, 1000, (4, 256))
        loss = model(input_ids=ids, labels=ids).loss
        del ids
        loss.backward()
        del loss
        opt.step()
        opt.zero_grad(set_to_none=True)
        if hook:
            hook()


def test_live_bytes_peak_equals_memtracker():
    from torch.distributed._tools.mem_tracker import MemTracker

    with FakeTensorMode(allow_non_fake_inputs=True):
        model = _tiny_model()
        opt = torch.optim.AdamW(model.parameters(), foreach=True)
        mt = MemTracker()
        mt.track_external(model, opt)
        with mt:
            _steps(model, opt, mt.reset_mod_stats)
        theirs = sum(v["Total"] for v in mt.get_tracker_snapshot("peak").values())
    with FakeTensorMode(allow_non_fake_inputs=True):
        model = _tiny_model()
        opt = torch.optim.AdamW(model.parameters(), foreach=True)
        ours = LiveBytes()
        for p in model.parameters():
            ours.track(p, "weights")
        for b in model.buffers():
            ours.track(b, "weights")
        with ours:
            _steps(model, opt)
    assert ours.peak == theirs


def test_simulated_breakdown_sums_to_the_peak_and_names_the_optimizer_step():
    from gpuwise.probe.simulate import simulate

    spec = load_model(TINY)
    s = simulate(resolve(TINY).config, spec, Workload(batch=1, seq=8))
    assert sum(s.breakdown.values()) == s.peak_allocated_bytes
    # a short sequence: the optimizer step peaks, holding weights, grads, 2 states and a temp
    assert s.peak_phase == "optimizer"
    n = spec.params
    assert s.breakdown["gradients"] == 2 * n
    assert 0 <= s.breakdown["weights"] - 2 * n <= 4096  # + the rotary buffers
    assert s.breakdown["optimizer"] >= 4 * n


def test_lora_simulation_trains_only_adapters():
    from gpuwise.probe.simulate import simulate

    spec = load_model(TINY)
    w = Workload(batch=2, seq=64, method="lora")
    lora = simulate(resolve(TINY).config, spec, w)
    adapters = trainable_tensors(spec, w)
    # AdamW: two fp32 states per adapter element, and a 4-byte step per tensor
    assert lora.breakdown["optimizer"] == sum(8 * t.numel * t.count + 4 * t.count for t in adapters)
    assert lora.versions.get("peft")


@pytest.mark.parametrize(
    ("model", "kw"),
    [
        ("mixtral-8x7b", {}),
        ("llama-3.2-1b", {"method": "qlora"}),
        ("llama-3.2-1b", {"optimizer": "adamw-8bit"}),
    ],
)
def test_what_cannot_be_simulated_is_refused_with_a_reason(model, kw):
    from gpuwise.probe.simulate import simulate

    with pytest.raises(GpuwiseError, match="cannot run"):
        simulate(resolve(model).config, load_model(model), Workload(**kw))


def test_probe_cli_reports_simulated_and_planned_in_the_plan_shape(cli):
    r = cli(
        "probe", TINY, "--simulate", "--method", "lora", "--batch", "2", "--seq", "64", "--json"
    )
    assert r.code == 0, r.err
    doc = r.json()
    sim, plan = doc["memory"], doc["analytic"]
    assert set(sim["breakdown"]) == set(plan["breakdown"])
    parts = sum(v for k, v in sim["breakdown"].items() if k != "overhead")
    assert parts == sim["peak_allocated_bytes"]
    assert doc["error"] == pytest.approx(
        (plan["peak_allocated_bytes"] - sim["peak_allocated_bytes"]) / sim["peak_allocated_bytes"]
    )
    assert abs(doc["error"]) < 0.05
    assert doc["simulated_on"]["torch"] and doc["simulated_on"]["peft"]


def test_probe_without_a_mode_is_one_line_exit_2(cli):
    r = cli("probe", TINY)
    assert r.code == 2 and "--simulate" in r.err and len(r.err.strip().splitlines()) == 1
