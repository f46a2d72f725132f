"""Fixtures for the launch-file tests: real accelerate (and DeepSpeed where installed)."""

from __future__ import annotations

from pathlib import Path

import pytest

pytest.importorskip("accelerate")
pytest.importorskip("yaml")

from gpuwise.models import load_model

CONFIGS = Path(__file__).resolve().parents[1] / "accuracy" / "configs"


@pytest.fixture(scope="session")
def tiny_llama():
    return load_model(str(CONFIGS / "tiny-llama.json"))


@pytest.fixture(scope="session")
def llama_8b():
    return load_model("llama-3.1-8b")
