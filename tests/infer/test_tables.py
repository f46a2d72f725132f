"""The tables of a llama.cpp plan: the engine's memory rows (weights and KV cache on the card,
compute buffer, CUDA context, host RAM), GPU layers, the split of a machine; lined up in both
languages, the Chinese holding no English prose but names."""

from __future__ import annotations

from tests.i18n.checks import leftover_english, table_lines_aligned

ARGS = (
    "plan",
    "llama-3.1-70b",
    "--task",
    "infer",
    "--weight-dtype",
    "q4_k_m",
    "--gpu",
    "3090",
    "--gpu",
    "4090+3090",
    "--seq",
    "8192",
    "--no-search",
)


def test_english_tables_show_llama_cpps_memory_and_the_split(cli, monkeypatch):
    monkeypatch.setenv("COLUMNS", "110")
    r = cli(*ARGS)
    assert r.code == 0, r.err
    for row in (
        "weights on the card",
        "KV cache on the card",
        "compute buffer",
        "CUDA context",
        "needed on the card",
        "in host RAM",
        "41/81",
        "81/81",
        "Layer split of",
        "39 + output",
    ):
        assert row in r.out, row
    assert "torch" not in r.out and "Precision" not in r.out  # transformers' words stay out
    assert table_lines_aligned(r.out) == []


def test_chinese_tables_line_up_and_hold_no_english_prose(cli, monkeypatch):
    monkeypatch.setenv("COLUMNS", "110")
    r = cli(*ARGS, "--lang", "zh")
    assert r.code == 0, r.err
    assert "显卡上的权重" in r.out and "按层切分" in r.out
    assert table_lines_aligned(r.out) == []
    names = [
        "llama-3.1-70b",
        "llama.cpp",
        "Q4_K_M",
        "GeForce RTX 4090",
        "GeForce RTX 3090",
        "Ollama",
        "ollama",
    ]
    assert leftover_english(r.out, names) == []
