"""The defaults gpuwise applies to a missing config field are transformers' own.

Fails when the installed transformers changed a default: rerun scripts/extract_hf_defaults.py
and check the counts suite.
"""

from __future__ import annotations

import pytest

from gpuwise.models.config_reader import hf_defaults

pytest.importorskip("transformers")


def test_data_file_matches_installed_transformers():
    import sys
    from pathlib import Path

    sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "scripts"))
    from extract_hf_defaults import extract

    assert extract()["model_types"] == hf_defaults()["model_types"]
