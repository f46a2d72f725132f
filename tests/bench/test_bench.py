"""``gpuwise bench`` on the CPU (no GPU needed): what it reports, where it saves, and how a saved
bench calibrates ``plan`` for its card (and is ignored when absent, foreign or corrupt)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from gpuwise.catalog import load_catalog

pytest.importorskip("torch")


@pytest.fixture(autouse=True)
def cache(tmp_path, monkeypatch):
    """Every test gets its own empty cache: nothing depends on the developer's."""
    path = tmp_path / "cache"
    monkeypatch.setenv("XDG_CACHE_HOME", str(path))
    monkeypatch.delenv("GPUWISE_BENCH_DIR", raising=False)  # these tests check the XDG path
    return path


@pytest.fixture(scope="module")
def cpu_doc(tmp_path_factory):
    """One quick CPU bench, shared by the tests that only read its document."""
    import os

    from gpuwise.cli.main import main

    old = os.environ.get("XDG_CACHE_HOME")
    os.environ["XDG_CACHE_HOME"] = str(tmp_path_factory.mktemp("cache"))
    try:
        import contextlib
        import io

        out = io.StringIO()
        with contextlib.redirect_stdout(out):
            code = main(["bench", "--quick", "--cpu", "--json"])
    finally:
        if old is None:
            del os.environ["XDG_CACHE_HOME"]
        else:
            os.environ["XDG_CACHE_HOME"] = old
    assert code == 0
    return json.loads(out.getvalue())


def test_cpu_bench_says_it_ran_on_the_cpu(cpu_doc):
    assert cpu_doc["device"] == "cpu"
    assert cpu_doc["card"] is None
    assert any("CPU" in n for n in cpu_doc["notes"])
    assert cpu_doc["kind"] == "gpuwise-bench"
    assert {"schema_version", "gpuwise_version", "date", "versions"} <= cpu_doc.keys()


def test_cpu_bench_measures_rates_with_no_percent_of_spec(cpu_doc):
    rows = {r["dtype"]: r for r in cpu_doc["matmul"]}
    assert set(rows) == {"fp32", "tf32", "fp16", "bf16", "fp8"}
    assert rows["fp32"]["tflops"] > 0
    assert rows["tf32"]["skipped"] and rows["fp8"]["skipped"]
    assert all(r["fraction_of_spec"] is None and r["spec_tflops"] is None for r in rows.values())
    (copy,) = cpu_doc["bandwidth"]  # no host<->device copies without a device
    assert copy["kind"] == "device copy" and copy["gb_s"] > 0
    assert copy["fraction_of_spec"] is None


def test_cpu_bench_times_a_training_step(cpu_doc):
    step = cpu_doc["train_step"]
    assert step["tokens_per_s"] > 0 and step["step_s"] > 0
    assert step["tokens_per_s"] == pytest.approx(step["batch"] * step["seq"] / step["step_s"])
    assert step["mfu"] is None  # no catalogue rate for a CPU


def test_bench_saves_its_results_where_the_cache_is(cli, cache):
    r = cli("bench", "--quick", "--cpu", "--no-train", "--json")
    assert r.code == 0
    doc = r.json()
    saved = Path(doc["saved_to"])
    assert saved.parent == cache / "gpuwise" / "bench"
    on_disk = json.loads(saved.read_text())
    assert on_disk["matmul"] == doc["matmul"] and on_disk["bandwidth"] == doc["bandwidth"]
    assert not list(saved.parent.glob(".*tmp"))  # the atomic write left no temporary file


def test_no_save_writes_nothing(cli, cache):
    r = cli("bench", "--quick", "--cpu", "--no-train", "--no-save", "--json")
    assert r.code == 0 and r.json()["saved_to"] is None
    assert not cache.exists()


def test_pcie_figure_is_the_published_one():
    from gpuwise.bench.bandwidth import pcie_gb_s

    # PCI-SIG: PCIe 4.0 x16 moves 31.5 GB/s per direction, 5.0 x16 63 GB/s, 3.0 x16 15.75.
    assert pcie_gb_s(4, 16) == pytest.approx(31.5, rel=0.01)
    assert pcie_gb_s(5, 16) == pytest.approx(63.0, rel=0.01)
    assert pcie_gb_s(3, 16) == pytest.approx(15.75, rel=0.01)
    assert pcie_gb_s(None, 16) is None


def test_spec_of_each_dtype_is_the_catalogues():
    import torch

    from gpuwise.bench.device import Device
    from gpuwise.bench.matmul import spec_tflops

    cat = load_catalog()
    ada = cat.find("rtx 4090")
    dev = Device("cuda", "NVIDIA GeForce RTX 4090", ada, torch)
    assert spec_tflops(dev, "bf16") == ada.bf16_tensor_tflops
    assert spec_tflops(dev, "fp8") == ada.fp8_tensor_tflops
    assert spec_tflops(dev, "fp32") == ada.fp32_tflops
    assert spec_tflops(dev, "tf32") == ada.tf32_tensor_tflops
    # no tensor cores: PyTorch's fp16 GEMMs accumulate in FP32 and run at the FP32 rate, the
    # rate plan times them at (the half2 figure is not reached), so a bench's fraction of it
    # is a fraction (56x of the half2 rate on a GTX 1080 Ti would discard the calibration)
    for name in ("gtx 1080", "gtx 1660 super"):
        card = cat.find(name)
        dev = Device("cuda", card.name, card, torch)
        assert spec_tflops(dev, "fp16") == card.fp32_tflops
    assert Device("cpu", "CPU (x86_64)", None, torch).slug == "cpu-x86-64"


# -- calibration of plan -------------------------------------------------------------------


def _bench_file(cache: Path, slug: str, bf16_fraction: float, copy_fraction: float) -> Path:
    """A saved CUDA bench of ``slug`` as gpuwise bench writes it (only the fields plan reads)."""
    doc = {
        "kind": "gpuwise-bench",
        "date": "2026-12-01",
        "device": "cuda",
        "card": {"name": slug, "slug": slug},
        "matmul": [
            {"dtype": "bf16", "fraction_of_spec": bf16_fraction},
            {"dtype": "fp8", "fraction_of_spec": None},
        ],
        "bandwidth": [{"kind": "device copy", "fraction_of_spec": copy_fraction}],
    }
    path = cache / "gpuwise" / "bench" / f"{slug}.json"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(doc))
    return path


def _reference() -> dict:
    import gpuwise.timing

    data = Path(gpuwise.timing.__file__).parent / "data" / "calibration.json"
    ref = json.loads(data.read_text())
    return {
        "matmul": ref["reference_matmul_fraction"]["value"],
        "bandwidth": ref["reference_bandwidth_fraction"]["value"],
    }


PLAN = ("plan", "llama-3.2-1b", "--batch", "2", "--seq", "512", "--gpu", "4090", "--json")


def test_plan_uses_a_saved_bench_of_its_card(cli, cache):
    before = cli(*PLAN).json()["cards"][0]["time"]
    ref = _reference()
    # a card that reaches half the reference's matmul fraction: its matmuls take twice as long
    # (the step model's bandwidth-bound kernels and launches do not change)
    _bench_file(cache, "rtx-4090", bf16_fraction=ref["matmul"] / 2, copy_fraction=ref["bandwidth"])
    after = cli(*PLAN)
    assert after.code == 0
    t = after.json()["cards"][0]["time"]
    assert before["mfu"] / 2 <= t["mfu"] < 0.65 * before["mfu"]
    assert t["train_tokens_per_s"] < before["train_tokens_per_s"]
    assert any("calibrated from your bench of 2026-12-01" in n for n in t["notes"])
    assert not any("calibrated" in n for n in before["notes"])


def test_recommend_uses_a_saved_bench_of_each_card_it_ranks(cli, cache):
    """recommend lists the bench folder once for all cards; a card with a bench there is still
    timed by it, on every count, and as plan times it."""
    args = ("recommend", "llama-3.2-1b", "--batch", "2", "--seq", "512", "--gpu", "4090")
    args += ("--gpu", "3090", "--max-gpus", "2", "--top", "0", "--json")

    def speeds():
        return {(o["slug"], o["count"]): o["tokens_per_s"] for o in cli(*args).json()["options"]}

    before = speeds()
    assert len(before) == 4 and all(before.values())
    _bench_file(cache, "rtx-4090", bf16_fraction=_reference()["matmul"] / 2, copy_fraction=0.9)
    after = speeds()
    for (slug, count), tps in after.items():
        if slug == "rtx-4090":
            assert tps < before[(slug, count)]
        else:
            assert tps == before[(slug, count)]
    plan = cli(*PLAN).json()["cards"][0]["time"]
    assert after[("rtx-4090", 1)] == pytest.approx(plan["train_tokens_per_s"])


def test_a_bench_of_another_card_changes_nothing(cli, cache):
    before = cli(*PLAN).json()
    _bench_file(cache, "rtx-3090", bf16_fraction=0.2, copy_fraction=0.2)
    assert cli(*PLAN).json() == before


def test_corrupt_bench_is_ignored_with_one_warning(cli, cache):
    before = cli(*PLAN).json()
    path = _bench_file(cache, "rtx-4090", 0.5, 0.5)
    path.write_text("{not json")
    first = cli(*PLAN)
    assert first.code == 0 and first.json() == before
    assert first.err.count("warning") == 1 and str(path) in first.err
    second = cli(*PLAN)
    assert second.json() == before and "warning" not in second.err  # once per file


def test_bench_with_impossible_fractions_is_ignored(cli, cache):
    before = cli(*PLAN).json()
    _bench_file(cache, "rtx-4090", bf16_fraction=-3, copy_fraction=0.5)
    r = cli(*PLAN)
    assert r.json() == before and "warning" in r.err


def test_a_quick_bench_does_not_calibrate_plan(cli, cache):
    def tokens_per_s() -> float:
        doc = cli("plan", "llama-3.2-1b", "--gpu", "4090", "--no-search", "--json").json()
        return doc["cards"][0]["time"]["train_tokens_per_s"]

    uncalibrated = tokens_per_s()
    path = _bench_file(cache, "rtx-4090", bf16_fraction=0.3, copy_fraction=0.3)
    doc = json.loads(path.read_text())
    doc["quick"] = True
    path.write_text(json.dumps(doc))
    assert tokens_per_s() == uncalibrated
    doc["quick"] = False
    path.write_text(json.dumps(doc) + " ")  # another size: a new file to the cache
    assert tokens_per_s() < uncalibrated  # a full bench at 0.3 of spec slows the plan


def test_bench_results_are_printed_when_they_cannot_be_saved(cli, tmp_path, monkeypatch):
    blocker = tmp_path / "a-file"
    blocker.write_text("")
    monkeypatch.setenv("GPUWISE_BENCH_DIR", str(blocker / "bench"))
    r = cli("bench", "--quick", "--cpu", "--no-train", "--json")
    assert r.code == 0 and r.json()["saved_to"] is None
    assert "not saved" in r.err
