"""llama.cpp / Ollama plans in Chinese: the notes a llama.cpp plan carries (engine, context,
Ollama's defaults, partial offload, calibration) and every refusal of the engine flags are in
the user's language, holding no English prose but names, flags, types and units."""

from __future__ import annotations

import json

import pytest

from ..checks import one_line
from .checks import leftover_english

PLAN = ("plan", "llama-3.1-70b", "--task", "infer", "--no-search", "--lang", "zh")


def _notes(doc: dict) -> list[str]:
    card = doc["cards"][0]
    return [*card["memory"]["notes"], *card["time"]["notes"]]


def test_a_partly_offloaded_ollama_plan_says_its_notes_in_chinese(cli):
    r = cli(*PLAN, "--engine", "ollama", "--gpu", "3090", "--tokens", "1000", "--json")
    assert r.code == 0, r.err
    doc = json.loads(r.out)
    notes = _notes(doc)
    assert any("Ollama" in n for n in notes) and any("主机 RAM" in n for n in notes)
    for note in notes:
        if "TDP" in note:  # the energy note is plan's own (engineer A's area)
            continue
        assert leftover_english(note, ["llama.cpp", "Ollama", "ollama", "Q4_K_M"]) == [], note
    english = json.loads(cli(*PLAN[:-2], "--engine", "ollama", "--gpu", "3090", "--json").out)
    assert doc["cards"][0]["offload"] == english["cards"][0]["offload"]  # numbers unchanged


@pytest.mark.parametrize(
    "args",
    [
        ("--engine", "vllmx"),
        ("--weight-dtype", "q4_k_m", "--gpu-layers", "99"),
        ("--weight-dtype", "q4_k_m", "--gpu-layers", "many"),
        ("--weight-dtype", "q4_k_m", "--ubatch", "0"),
        ("--weight-dtype", "q4_k_m", "--flash-attn", "maybe"),
        ("--weight-dtype", "q4_k_m", "--host-bandwidth", "fast"),
        ("--weight-dtype", "q4_k_m", "--host-bandwidth", "0.5"),
        ("--weight-dtype", "q4_k_m", "--kv-dtype", "q8_0", "--flash-attn", "off"),
        ("--gpu-layers", "3"),
        ("--engine", "transformers", "--weight-dtype", "q8_0"),
        ("--kv-dtype", "q4_0"),
        ("--engine", "llama.cpp", "--weight-dtype", "nf4"),
        ("--weight-dtype", "q4_k_m", "--precision", "bf16"),
    ],
)
def test_every_refusal_of_the_engine_flags_is_one_chinese_line(cli, args):
    r = cli(*PLAN, *args)
    one_line(r)
    assert (
        leftover_english(r.err, ["gpuwise plan", "llama.cpp", "ollama", "vllm", "vllmx"]) == []
    ), r.err
