"""Weight bytes per dtype, as bitsandbytes and transformers store them."""

from __future__ import annotations

import pytest

from gpuwise.memory.weights import weights_bytes
from gpuwise.models import load_model


@pytest.mark.parametrize("name", ["llama-3.1-8b", "gpt2", "mixtral-8x7b", "bert-base-uncased"])
def test_16_and_32_bit(name):
    spec = load_model(name)
    assert weights_bytes(spec, "bf16") == 2 * spec.params
    assert weights_bytes(spec, "fp32") == 4 * spec.params


def test_deepseek_router_stays_fp32():
    spec = load_model("deepseek-v3")
    router = sum(b.numel for b in spec.blocks if b.part == "router")
    assert weights_bytes(spec, "bf16") == 2 * spec.params + 2 * router


def test_quantized_keeps_embeddings_and_head_16_bit():
    spec = load_model("llama-3.1-8b")
    kept = sum(b.numel for b in spec.blocks if not b.linear or b.part == "lm_head")
    quantized = spec.params - kept
    # int8: 1 byte per quantized weight, plus one fp32 scale per output row.
    rows = sum(b.out_features * b.count for b in spec.blocks if b.linear and b.part != "lm_head")
    assert weights_bytes(spec, "int8") == 2 * kept + quantized + 4 * rows
    # nf4: half a byte per weight plus about 1/64 byte of 8-bit absmax (double quantization).
    nf4 = weights_bytes(spec, "nf4")
    assert (
        2 * kept + quantized * (0.5 + 1 / 64) < nf4 < 2 * kept + quantized * (0.5 + 1 / 64) * 1.01
    )


def test_moe_experts_are_not_quantized():
    """transformers 5 stores Mixtral's experts as fused 3-D parameters, which bitsandbytes'
    Linear replacement does not touch: they stay 16-bit."""
    spec = load_model("mixtral-8x7b")
    experts = sum(b.numel for b in spec.blocks if b.part == "experts")
    assert weights_bytes(spec, "nf4") > 2 * experts
