"""What the weight types, GGUF files and card names with a memory say in Chinese: the model
table of a GGUF file, a damaged GGUF file, an unknown weight type and a memory no variant has
are Chinese with only names, units and identifiers left in English."""

from __future__ import annotations

import pytest

from ..checks import one_line
from .checks import leftover_english, table_lines_aligned

gguf = pytest.importorskip("gguf")


@pytest.fixture(scope="module")
def tiny(tmp_path_factory):
    from ..models.test_gguf_file import write_tiny

    return write_tiny(tmp_path_factory.mktemp("zh") / "tiny.gguf")


def test_gguf_model_table_in_chinese(cli, tiny):
    r = cli("model", str(tiny), "--lang", "zh")
    assert r.code == 0 and r.err == "", r.err
    assert "本文件（q4_k_m）" in r.out and "GGUF 文件" in r.out
    doc = cli("model", str(tiny), "--json").json()
    names = [doc["name"], doc["model_type"], str(tiny), tiny.name, *doc["weights_bytes"]]
    names += [str(v) for v in doc["shapes"].values()]
    assert leftover_english(r.out, names) == []
    assert table_lines_aligned(r.out) == []


@pytest.mark.parametrize("model", ["llama-3.1-8b", "qwen3-30b-a3b"])
def test_weights_table_lines_up_in_both_languages(cli, model):
    for language in ("en", "zh"):
        out = cli("model", model, "--lang", language).out
        assert "q4_k_m" in out and "awq" in out
        assert table_lines_aligned(out) == []


@pytest.mark.parametrize(
    "content,says",
    [
        (b"NOPE" + b"\0" * 40, "不是 GGUF 文件"),
        (b"GGUF" + (3).to_bytes(4, "little"), "文件头提前结束"),
        (b"GGUF" + (9).to_bytes(4, "little") + b"\0" * 16, "第 9 版"),
    ],
)
def test_damaged_gguf_is_one_chinese_line(cli, tmp_path, content, says):
    path = tmp_path / "bad.gguf"
    path.write_bytes(content)
    r = cli("model", str(path), "--lang", "zh")
    one_line(r, says)
    assert leftover_english(r.err, [str(path), "gpuwise", "model", "GGUF"]) == []


def test_unknown_weight_type_is_one_chinese_line(cli):
    r = cli("plan", "llama-3.2-1b", "--task", "infer", "--weight-dtype", "q9_x", "--lang", "zh")
    one_line(r, "q9_x", "q4_k_m", "awq")
    from gpuwise.models.weight_types import ALIASES, WEIGHT_TYPES

    names = [*WEIGHT_TYPES, *ALIASES, "q9_x", "gpuwise", "plan", "--weight-dtype"]
    assert leftover_english(r.err, names) == []


def test_memory_no_variant_has_is_one_chinese_line(cli):
    r = cli("gpu", "4090 12GB", "--lang", "zh")
    one_line(r, "4090 12GB", "24 GB", "显存")
    names = ["GeForce", "RTX", "4090", "12GB", "modified", "gpuwise", "gpu"]
    assert leftover_english(r.err, names) == []
