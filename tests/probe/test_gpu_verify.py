"""scripts/gpu_verify.py without a GPU: the dry run lists a grid sized to the card, and with
``--device cpu`` runs two tiny cases end to end and writes their JSON."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from gpuwise.catalog import load_catalog, usable_memory

ROOT = Path(__file__).resolve().parents[2]
SCRIPT = ROOT / "scripts" / "gpu_verify.py"


def _run(*args: str, tmp_path: Path) -> tuple[subprocess.CompletedProcess, dict]:
    out = tmp_path / "gv.json"
    r = subprocess.run(
        [sys.executable, str(SCRIPT), "--out", str(out), *args],
        capture_output=True,
        text=True,
        cwd=ROOT,
        timeout=300,
        check=False,
    )
    return r, json.loads(out.read_text())


def test_dry_run_sizes_the_grid_to_the_card(tmp_path):
    r, doc = _run("--dry-run", "--card", "h200", tmp_path=tmp_path)
    assert r.returncode == 0, r.stderr
    cases = [c for c in doc["cases"] if not c.get("skip")]
    assert len(cases) >= 12
    types = {c["model"] for c in cases}
    assert {"llama-3.2-1b", "gpt2", "bert-base-uncased", "gemma-2-9b", "gemma-3-1b"} <= types
    assert {c["flags"].get("method") for c in cases} >= {"full", "lora", "qlora"}
    assert (
        doc["sized_for"]["total_memory_bytes"] == usable_memory(load_catalog().find("h200")).bytes
    )
    oom = [c for c in cases if c["flags"].get("oom_case")]
    assert oom and all(c["planned_fill"] > 1 for c in oom)  # the plan says it does not fit
    fits = [c for c in cases if not c["flags"].get("oom_case")]
    assert all(c["planned_fill"] <= 0.9 for c in fits)
    assert sum(c["planned_fill"] >= 0.3 for c in fits) >= len(fits) // 2
    for c in cases:  # every case is listed
        assert c["id"] in r.stdout


@pytest.mark.skipif(pytest.importorskip("torch").cuda.is_available(), reason="CPU-only check")
def test_cpu_dry_run_measures_two_tiny_cases(tmp_path):
    pytest.importorskip("peft")
    r, doc = _run("--dry-run", "--device", "cpu", tmp_path=tmp_path)
    assert r.returncode == 0, r.stderr
    assert len(doc["cases"]) == 2
    for c in doc["cases"]:
        assert "error" not in c, c.get("error")
        assert c["measured_peak_allocated_bytes"] > 0
        assert abs(c["peak_error"]) <= 0.10
        assert c["measured_tokens_per_s"] > 0
    assert doc["versions"]["torch"] and doc["versions"]["transformers"]
    assert "peak within 10 %: 2/2" in r.stdout


def test_gpu_run_without_a_gpu_says_so(tmp_path):
    torch = pytest.importorskip("torch")
    if torch.cuda.is_available():
        pytest.skip("a GPU is present")
    r = subprocess.run(
        [sys.executable, str(SCRIPT), "--out", str(tmp_path / "x.json")],
        capture_output=True,
        text=True,
        cwd=ROOT,
        timeout=120,
        check=False,
    )
    assert r.returncode == 2 and "no CUDA device" in r.stderr
