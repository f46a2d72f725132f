"""``probe --measure``: the real step on the CPU (what CI can run), timed steps, the comparison
with the plan, and how an out-of-memory on a GPU is reported (with a fake CUDA run)."""

from __future__ import annotations

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

torch = pytest.importorskip("torch")
pytest.importorskip("transformers")
pytest.importorskip("peft")

from gpuwise.models.resolve import resolve  # noqa: E402
from gpuwise.plan import estimate_memory  # noqa: E402
from gpuwise.probe import measure as measure_mod  # noqa: E402
from gpuwise.workload import Workload, validate  # noqa: E402

CONFIGS = "tests/accuracy/configs"


def _case(name: str, **workload):
    from gpuwise.models import load_model

    path = f"{CONFIGS}/{name}.json"
    spec = load_model(path)
    return resolve(path).config, spec, validate(Workload(**workload), spec)


@pytest.mark.parametrize(
    ("name", "workload"),
    [
        ("tiny-llama", {"batch": 2, "seq": 64}),
        ("tiny-gpt2", {"batch": 2, "seq": 64, "method": "lora", "precision": "amp-bf16"}),
        ("tiny-qwen2", {"batch": 1, "seq": 64, "grad_checkpointing": True, "precision": "fp32"}),
    ],
)
def test_cpu_measure_agrees_with_simulation_and_plan(name, workload):
    from gpuwise.probe.simulate import simulate

    config, spec, w = _case(name, **workload)
    m = measure_mod.measure(config, spec, w, device="cpu", steps=2, warmup=1)
    sim = simulate(config, spec, w)
    plan = estimate_memory(spec, w)
    assert not m.oom
    # real tensors, same step: the same live bytes as fake tensors
    assert m.peak_allocated_bytes == pytest.approx(sim.peak_allocated_bytes, rel=0.01)
    # and the plan, which agrees with simulation within 5 %, within 10 % of the measurement
    assert plan.peak_allocated_bytes == pytest.approx(m.peak_allocated_bytes, rel=0.10)
    assert len(m.step_s) == 2 and all(s > 0 for s in m.step_s)


def test_cpu_measure_json(cli):
    r = cli(
        "probe", f"{CONFIGS}/tiny-llama.json", "--measure", "--device", "cpu",
        "--batch", "1", "--seq", "32", "--steps", "3", "--warmup", "1", "--json",
    )  # fmt: skip
    assert r.code == 0, r.err
    doc = r.json()
    m = doc["measured"]
    assert m["device"] == "cpu" and m["oom"] is False
    assert len(m["step_s_all"]) == 3 and m["warmup_steps"] == 1
    assert m["tokens_per_s"] == pytest.approx(32 / m["step_s"])
    assert m["peak_reserved_bytes"] is None  # no allocator on the CPU
    plan = doc["plan"]["memory"]
    assert doc["errors"]["peak_error"] == pytest.approx(
        (plan["peak_allocated_bytes"] - m["peak_allocated_bytes"]) / m["peak_allocated_bytes"]
    )
    assert doc["card"] is None and doc["plan"]["time"] is None


@pytest.mark.skipif(torch.cuda.is_available(), reason="checks the machine without a GPU")
def test_measure_without_cuda_is_one_line_exit_2(cli):
    r = cli("probe", f"{CONFIGS}/tiny-llama.json", "--measure")
    assert r.code == 2
    assert r.err.count("\n") == 1 and "CUDA" in r.err and "--device cpu" in r.err
    assert "Traceback" not in r.err and r.out == ""


def test_simulate_and_measure_exclude_each_other(cli):
    r = cli("probe", f"{CONFIGS}/tiny-llama.json", "--measure", "--simulate")
    assert r.code == 2 and "not allowed with" in r.err


@settings(
    max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    flag=st.sampled_from(["--steps", "--warmup"]),
    value=st.one_of(st.integers(max_value=-1), st.integers(min_value=10_001)),
)
def test_impossible_step_counts_are_refused(cli, flag, value):
    r = cli("probe", f"{CONFIGS}/tiny-llama.json", "--measure", "--device", "cpu", flag, str(value))
    assert r.code == 2 and r.err.count("\n") == 1 and flag in r.err


def test_zero_timed_steps_are_refused(cli):
    r = cli("probe", f"{CONFIGS}/tiny-llama.json", "--measure", "--device", "cpu", "--steps", "0")
    assert r.code == 2 and "--steps" in r.err


# -- out of memory on a (fake) GPU ---------------------------------------------------------


class _FakeCuda(measure_mod._CpuRun):
    """A CUDA run whose steps run out of memory, on a card of ``total`` bytes."""

    device = "cpu"  # tensors stay on the CPU
    total = 0

    def name(self) -> str:
        return "NVIDIA GeForce RTX 4090"

    def is_oom(self, e: BaseException) -> bool:
        return isinstance(e, torch.cuda.OutOfMemoryError)

    def read_total(self, out) -> None:
        out.total_memory_bytes = self.total


def _oom_step(*args, **kwargs):
    raise torch.cuda.OutOfMemoryError("CUDA out of memory. Tried to allocate 2.00 GiB")


@pytest.fixture
def fake_gpu(monkeypatch):
    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)
    monkeypatch.setattr(measure_mod, "_CudaRun", _FakeCuda)
    monkeypatch.setattr(measure_mod, "_train_step", _oom_step)
    return _FakeCuda


ARGS = ("probe", f"{CONFIGS}/tiny-llama.json", "--measure", "--batch", "1", "--seq", "32")


def test_oom_the_plan_foresaw_is_reported_not_raised(cli, fake_gpu):
    fake_gpu.total = 1 << 20  # 1 MiB: the plan says it does not fit
    r = cli(*ARGS, "--json")
    assert r.code == 0 and "Traceback" not in r.err
    doc = r.json()
    assert doc["measured"]["oom"] is True
    assert doc["measured"]["oom_during"] == "warm-up step"
    assert "out of memory" in doc["measured"]["oom_message"].lower()
    assert doc["verdict"]["plan_says_fits"] is False and doc["verdict"]["agrees"] is True
    assert doc["card"]["slug"] == "rtx-4090"  # detected from the device name
    assert doc["plan"]["tokens_per_s"] is not None  # the plan's time on the detected card


def test_oom_the_plan_missed_says_the_plan_is_short(cli, fake_gpu):
    fake_gpu.total = 1 << 40
    r = cli(*ARGS)
    assert r.code == 0
    assert "OUT OF MEMORY" in r.out and "plan is short" in r.out


def test_other_errors_are_not_taken_for_oom(cli, fake_gpu, monkeypatch):
    def broken(*args, **kwargs):
        raise ValueError("a bug")

    monkeypatch.setattr(measure_mod, "_train_step", broken)
    with pytest.raises(ValueError):
        cli(*ARGS)


def test_one_training_step_cannot_reach_the_reference_peak(cli):
    r = cli(
        "probe",
        "tests/accuracy/configs/tiny-llama.json",
        "--measure",
        "--device",
        "cpu",
        "--steps",
        "1",
        "--warmup",
        "0",
    )
    assert r.code == 2 and "at least 2" in r.err
