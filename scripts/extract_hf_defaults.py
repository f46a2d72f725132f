"""Regenerate src/gpuwise/models/data/hf_defaults.json from the installed transformers.

gpuwise reads config.json files without importing transformers, so it must apply the same
defaults transformers applies when a field is missing. This script reads them from the config
classes themselves (class-level defaults, before ``__post_init__`` derives anything) and writes
them, with the transformers version, into the data file. ``tests/models/test_hf_defaults.py``
fails when the installed transformers disagrees with the file.

Usage: python scripts/extract_hf_defaults.py
"""

from __future__ import annotations

import json
import pathlib
import sys

OUT = pathlib.Path(__file__).resolve().parents[1] / "src/gpuwise/models/data/hf_defaults.json"
sys.path.insert(0, str(OUT.parents[3]))

from gpuwise.models.families import FAMILY_KEYS, SUPPORTED_MODEL_TYPES  # noqa: E402


def extract() -> dict:
    import transformers
    from transformers import CONFIG_MAPPING

    types: dict[str, dict] = {}
    for model_type in SUPPORTED_MODEL_TYPES:
        cls = CONFIG_MAPPING[model_type]
        defaults = {}
        for key in FAMILY_KEYS[model_type]:
            if hasattr(cls, key):
                value = getattr(cls, key)
                if isinstance(value, (int, float, str, bool, list, type(None))):
                    defaults[key] = value
        types[model_type] = {
            "config_class": cls.__name__,
            "attribute_map": dict(getattr(cls, "attribute_map", {}) or {}),
            "defaults": defaults,
        }
    return {
        "source": "class-level defaults of transformers' configuration classes "
        "(transformers/models/<type>/configuration_<type>.py)",
        "transformers_version": transformers.__version__,
        "model_types": types,
    }


if __name__ == "__main__":
    OUT.write_text(json.dumps(extract(), indent=1, sort_keys=True) + "\n")
    print(f"wrote {OUT}")
