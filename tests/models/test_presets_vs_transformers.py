"""Every preset, built by transformers on the meta device, has exactly gpuwise's count."""

from __future__ import annotations

import pytest

from gpuwise.models import load_model, preset_names
from gpuwise.models.resolve import resolve

pytest.importorskip("torch")
pytest.importorskip("transformers")

from tests.models.test_param_counts import hf_counts


@pytest.mark.parametrize("name", preset_names())
def test_preset_count_equals_transformers(name):
    count, mlm_count, _ = hf_counts(resolve(name).config)
    spec = load_model(name)
    assert spec.params == count
    if mlm_count >= 0:
        assert spec.trained_params == mlm_count
