"""Each preset has the parameter count its authors published, to the digits they published.

A published figure is checked to half a unit of its last digit ("1.54B": within 0.005B), so
no rounding of ours can hide a wrong shape; Meta's cards cut instead of rounding (Llama 3.2 1B
has 1,235,814,400 parameters, "1.23B"), so theirs are checked as cut: within one unit above.

Sources (each also in presets/index.json):

- Gemma 2 technical report (arXiv 2408.00118), Table 2: non-embedding parameters, exact.
- Gemma 3 technical report, Table 1: non-embedding parameters in millions (the language model;
  the 417M vision encoder is counted apart there, as it is left out of these presets).
- Qwen2.5 model cards "Number of Parameters (Non-Embedding)" and totals (mirrored in
  ZHUI/paddlenlp_model_readme); Qwen3-14B model card.
- Llama 3.2 model card parameter table (1.23B, 3.21B).
- Open LLM Leaderboard request for 01-ai/Yi-1.5-34B-32K: 34.389B (same shapes as the base).
- Mistral AI: Mixtral 8x22B has 141B parameters, 39B active.

Figures that disagree with their own model's architecture are left out: the Qwen2.5-14B card
says 14.7B (13.1B non-embedding), Qwen2.5-32B 32.5B (31.0B) and Qwen2.5-72B 70.0B non-embedding,
where their config files give 14.77B (13.21B), 32.76B (31.21B) and 70.21B, as transformers counts
them.
"""

from __future__ import annotations

from decimal import Decimal

import pytest

from gpuwise.models import load_model

UNITS = {"B": Decimal(10) ** 9, "M": Decimal(10) ** 6}


def close_to(count: int, published: str, cut: bool = False) -> bool:
    """``count`` rounds (or with ``cut``, is cut) to ``published`` ("1.54B", "3,209M",
    "2,024,517,888")."""
    text = published.replace(",", "")
    unit = UNITS.get(text[-1], Decimal(1))
    number = Decimal(text[:-1] if text[-1] in UNITS else text)
    step = Decimal(10) ** number.as_tuple().exponent * unit
    if cut:
        return number * unit <= count < number * unit + step
    return abs(Decimal(count) - number * unit) <= step / 2


def non_embedding(name: str) -> int:
    spec = load_model(name)
    parts = spec.params_by_part()
    return spec.params - parts.get("embedding", 0) - parts.get("lm_head", 0)


@pytest.mark.parametrize(
    "name,published",
    [
        ("gemma-2-2b", "2,024,517,888"),
        ("gemma-2-9b", "8,324,201,984"),
        ("gemma-2-27b", "26,047,480,320"),
        ("gemma-3-1b", "698M"),
        ("gemma-3-4b", "3,209M"),
        ("gemma-3-12b", "10,759M"),
        ("gemma-3-27b", "25,600M"),
        ("qwen2.5-0.5b", "0.36B"),
        ("qwen2.5-1.5b", "1.31B"),
        ("qwen2.5-3b", "2.77B"),
        ("qwen2.5-7b", "6.53B"),
        ("qwen3-14b", "13.2B"),
    ],
)
def test_non_embedding_count_is_the_published_one(name, published):
    assert close_to(non_embedding(name), published), (name, non_embedding(name))


@pytest.mark.parametrize(
    "name,published,cut",
    [
        ("qwen2.5-0.5b", "0.49B", False),
        ("qwen2.5-1.5b", "1.54B", False),
        ("qwen2.5-3b", "3.09B", False),
        ("qwen2.5-72b", "72.7B", False),
        ("qwen3-14b", "14.8B", False),
        ("llama-3.2-1b", "1.23B", True),
        ("llama-3.2-3b", "3.21B", True),
        ("yi-1.5-34b", "34.389B", False),
        ("mixtral-8x22b", "141B", False),
    ],
)
def test_total_count_is_the_published_one(name, published, cut):
    assert close_to(load_model(name).params, published, cut), (name, load_model(name).params)


def test_mixtral_8x22b_active_parameters():
    assert close_to(load_model("mixtral-8x22b").active_params, "39B")


@pytest.mark.parametrize(
    "count,published,cut,ok",
    [
        (1_543_714_304, "1.54B", False, True),
        (1_545_000_001, "1.54B", False, False),
        (1_235_814_400, "1.23B", True, True),
        (1_235_814_400, "1.24B", True, False),
        (1_235_814_400, "1.23B", False, False),
        (3_209_010_688, "3,209M", False, True),
        (3_210_000_000, "3,209M", False, False),
        (2_024_517_888, "2,024,517,888", False, True),
        (2_024_517_889, "2,024,517,888", False, False),
    ],
)
def test_the_check_is_as_strict_as_the_published_digits(count, published, cut, ok):
    assert close_to(count, published, cut) is ok
