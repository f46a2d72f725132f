"""plan --engine vllm with a machine name (--gpu 2x4090, 4090+3090): one line saying how vLLM's
tensor parallel is written (--gpu CARD --gpus N), not llama.cpp's advice."""

from __future__ import annotations

import pytest

from ..checks import one_line

PLAN = ("plan", "llama-3.1-8b", "--task", "infer", "--engine", "vllm")


@pytest.mark.parametrize(
    ("name", "card", "count"), [("2x4090", "4090", "2"), ("4 × 3090", "3090", "4")]
)
def test_a_count_of_one_card_names_the_flags_to_write(cli, name, card, count):
    r = cli(*PLAN, "--gpu", name)
    one_line(r, f"--gpu {card} --gpus {count}")
    assert "llama.cpp" not in r.err
    # and what it says to write is a vLLM plan
    assert cli(*PLAN, "--gpu", card, "--gpus", count, "--json").code == 0


@pytest.mark.parametrize("lang", ["en", "zh"])
def test_mixed_cards_need_one_kind(cli, lang):
    r = cli(*PLAN, "--gpu", "4090+3090", "--lang", lang)
    one_line(r, "--gpus N")
    assert "llama.cpp" not in r.err
