"""The training time's range and notes (timing/step.py, timing/data/step_model.json) in Chinese
and English: each card's "estimate (low–high)" line under the cards' table, the JSON range
keys, and the step model's notes, with no English prose left in Chinese."""

from __future__ import annotations

import json
import re

from .checks import leftover_english, table_lines_aligned

PLAN = ("plan", "gpt2", "--gpu", "rtx 4090", "--gpu", "rtx 3060 12gb")
PLAN += ("--batch", "1", "--seq", "256")
NAMES = ["MFU", "tokens/s", "timing/data/step_model.json", "PyTorch", "torch.compile", "GPU", "CPU"]
RANGE = {
    "en": re.compile(r"([\d,]+)tokens/s\(([\d,]+)–([\d,]+):"),
    "zh": re.compile(r"每秒([\d,]+)个token（([\d,]+)–([\d,]+)："),
}


def _n(s: str) -> int:
    return int(s.replace(",", ""))


def test_json_gives_each_card_a_range_around_its_estimate(cli):
    r = cli(*PLAN, "--json")
    assert r.code == 0, r.err
    for card in json.loads(r.out)["cards"]:
        tm = card["time"]
        assert tm["tokens_per_s_low"] < tm["train_tokens_per_s"] < tm["tokens_per_s_high"]


def test_the_table_says_each_cards_range_in_both_languages(cli):
    for lang in ("en", "zh"):
        r = cli(*PLAN, "--lang", lang)
        assert r.code == 0, r.err
        found = RANGE[lang].findall("".join(r.out.split()))  # lines may wrap anywhere
        assert len(found) == 2, r.out
        for est, low, high in found:
            assert _n(low) < _n(est) < _n(high)
        assert table_lines_aligned(r.out) == []


def test_the_step_notes_are_chinese(cli):
    r = cli(*PLAN, "--json", "--lang", "zh")
    assert r.code == 0, r.err
    notes = [n for c in json.loads(r.out)["cards"] for n in c["time"]["notes"]]
    # GPT-2 at one sequence is launch-bound on a 4090: both step notes are said
    assert any("峰值算力" in n for n in notes) and any("内核启动" in n for n in notes)
    for note in notes:
        assert leftover_english(note, NAMES) == [], note


def test_recommend_gives_each_timed_training_option_its_range(cli):
    r = cli("recommend", "llama-3.2-1b", "--method", "lora", "--top", "10", "--json")
    assert r.code == 0, r.err
    timed = [o for o in r.json()["options"] if o["tokens_per_s"] and o["step_s"]]
    assert timed
    for o in timed:
        assert o["tokens_per_s_low"] < o["tokens_per_s"] < o["tokens_per_s_high"]
