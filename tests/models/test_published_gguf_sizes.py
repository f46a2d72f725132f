"""GGUF weight bytes, computed tensor by tensor from llama.cpp's quantizer rule, against the
file sizes published on the models' GGUF pages (tests/models/data/published_gguf_sizes.json,
each with its URL): within 3 %."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from gpuwise.models import load_model
from gpuwise.models.weight_types import GGUF_TYPES, weights_bytes

DATA = json.loads((Path(__file__).parent / "data" / "published_gguf_sizes.json").read_text())
ROWS = [
    (model["preset"], key, gb, page["url"])
    for model in DATA["models"]
    for page in model["pages"]
    for key, gb in page["sizes_gb"].items()
]


@pytest.mark.parametrize("preset,key,gb,url", ROWS, ids=[f"{r[0]}-{r[1]}" for r in ROWS])
def test_within_three_percent_of_the_published_file(preset, key, gb, url):
    ours = weights_bytes(load_model(preset), key)
    assert abs(ours / (gb * 1e9) - 1) <= 0.03, (url, key, ours, gb)


def test_every_type_is_published_for_llama():
    """The rows cover every GGUF type gpuwise knows on Llama-3.1-8B, but f32, bf16, q5_1,
    iq4_nl and q3_k_l's siblings no page above lists (their rule is the same code path)."""
    llama = {r[1] for r in ROWS if r[0] == "llama-3.1-8b"}
    assert len(llama) >= 24
    assert set(GGUF_TYPES) - llama <= {"f32", "bf16", "q5_1", "q5_0", "q4_1", "iq4_nl"}


def test_each_model_has_its_published_types():
    assert len(DATA["models"]) >= 3
    for model in DATA["models"]:
        rows = [r for r in ROWS if r[0] == model["preset"]]
        assert len(rows) >= 6, model["preset"]
        assert all(url.startswith("https://huggingface.co/") for *_, url in rows)


@pytest.mark.parametrize("row", DATA["checkpoints"]["rows"], ids=lambda r: r["type"])
def test_awq_and_gptq_checkpoints_within_one_percent(row):
    """AWQ / GPTQ layouts (data/quant_formats.json) against a published checkpoint's shards."""
    ours = weights_bytes(load_model(row["preset"]), row["type"])
    assert abs(ours / (sum(row["shards_gb"]) * 1e9) - 1) <= 0.01, (row["url"], ours)
