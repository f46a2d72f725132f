"""gpuwise's parameter counts equal what transformers builds, exactly, for every supported type.

Each case builds the real transformers model on the meta device and compares
``sum(p.numel() for p in model.parameters())`` with ``ModelSpec.params`` (and, for BERT, the
``AutoModelForMaskedLM`` count with ``ModelSpec.trained_params``). Configs are not the presets:
hand-written variants (tied / untied, optional fields present or absent, biases on / off, MoE
layouts) plus configs that hypothesis draws.
"""

from __future__ import annotations

import warnings

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from gpuwise.models import SUPPORTED_MODEL_TYPES
from gpuwise.models.build import spec_from_config

torch = pytest.importorskip("torch")
transformers = pytest.importorskip("transformers")


def hf_counts(config: dict) -> tuple[int, int, set[str]]:
    """(AutoModelForCausalLM / AutoModel count, masked-LM count or -1, nn.Linear module names)."""
    kwargs = {k: v for k, v in config.items() if k != "model_type"}
    cfg = transformers.AutoConfig.for_model(config["model_type"], **kwargs)
    encoder = config["model_type"] == "bert"
    with warnings.catch_warnings(), torch.device("meta"):
        warnings.simplefilter("ignore")
        auto = transformers.AutoModel if encoder else transformers.AutoModelForCausalLM
        model = auto.from_config(cfg)
        mlm = transformers.AutoModelForMaskedLM.from_config(cfg) if encoder else None
    linear_types = (torch.nn.Linear, transformers.pytorch_utils.Conv1D)
    linears = {n for n, m in model.named_modules() if isinstance(m, linear_types)}
    count = sum(p.numel() for p in model.parameters())
    mlm_count = sum(p.numel() for p in mlm.parameters()) if mlm is not None else -1
    return count, mlm_count, linears


def ours(config: dict):
    return spec_from_config(dict(config), name="case", source="test", where="test config")


def check(config: dict) -> None:
    spec = ours(config)
    count, mlm_count, linears = hf_counts(config)
    assert spec.params == count, (config, spec.params_by_part())
    if mlm_count >= 0:
        assert spec.trained_params == mlm_count
    else:
        assert spec.trained_params == spec.params
    # Every block we mark linear is an nn.Linear / Conv1D in the real model, and vice versa
    # (LoRA's all-linear and bitsandbytes depend on it).
    import re

    def matches(pattern: str) -> bool:
        rx = re.escape(pattern).replace(r"\*", r"\d+")
        return any(re.fullmatch(rx, n) for n in linears)

    marked = {b.name for b in spec.blocks if b.linear}
    assert all(matches(name) for name in marked), sorted(n for n in marked if not matches(n))
    tied_head = spec.tie_word_embeddings and not any(b.part == "lm_head" for b in spec.blocks)
    real = {re.sub(r"\.\d+\.", ".*.", n) for n in linears}
    if tied_head:
        real.discard("lm_head")
    assert real == marked, (sorted(real - marked), sorted(marked - real))


SMALL = dict(
    vocab_size=211,
    hidden_size=64,
    intermediate_size=96,
    num_hidden_layers=3,
    num_attention_heads=8,
    num_key_value_heads=2,
    pad_token_id=0,
    bos_token_id=1,
    eos_token_id=2,
)

VARIANTS: dict[str, list[dict]] = {
    "llama": [
        {},
        {"tie_word_embeddings": True},
        {"attention_bias": True, "mlp_bias": True},
        {"head_dim": 24},
        {"num_key_value_heads": None},
        {"num_key_value_heads": 8},
    ],
    "mistral": [{}, {"head_dim": 16, "sliding_window": 64}, {"tie_word_embeddings": True}],
    "mixtral": [
        {"num_local_experts": 4, "num_experts_per_tok": 2},
        {"num_local_experts": 3, "num_experts_per_tok": 1, "head_dim": 12},
    ],
    "qwen2": [{}, {"tie_word_embeddings": True}, {"head_dim": 16}],
    "qwen2_moe": [
        {
            "num_experts": 4,
            "num_experts_per_tok": 2,
            "moe_intermediate_size": 40,
            "shared_expert_intermediate_size": 72,
        },
        {
            "num_experts": 4,
            "num_experts_per_tok": 2,
            "moe_intermediate_size": 40,
            "shared_expert_intermediate_size": 72,
            "decoder_sparse_step": 2,
            "mlp_only_layers": [0],
        },
        {
            "num_experts": 5,
            "num_experts_per_tok": 3,
            "moe_intermediate_size": 24,
            "shared_expert_intermediate_size": 48,
            "qkv_bias": False,
            "tie_word_embeddings": True,
        },
    ],
    "qwen3": [{}, {"head_dim": 40}, {"attention_bias": True, "tie_word_embeddings": True}],
    "qwen3_moe": [
        {"num_experts": 6, "num_experts_per_tok": 2, "moe_intermediate_size": 32},
        {
            "num_experts": 6,
            "num_experts_per_tok": 2,
            "moe_intermediate_size": 32,
            "mlp_only_layers": [1],
            "head_dim": 8,
        },
    ],
    "gemma": [{}, {"tie_word_embeddings": False}, {"head_dim": 8, "attention_bias": True}],
    "gemma2": [{}, {"head_dim": 16}, {"tie_word_embeddings": False}],
    "gemma3_text": [{}, {"head_dim": 16, "tie_word_embeddings": False}],
    "phi3": [{}, {"tie_word_embeddings": True}, {"num_key_value_heads": 8}],
    "internlm3": [
        {},
        {"qkv_bias": True, "bias": True},
        {"head_dim": None, "tie_word_embeddings": True},
        {"attention_bias": True, "mlp_bias": True, "head_dim": 24},
    ],
    "gpt2": [
        {"n_embd": 64, "n_layer": 2, "n_head": 4, "vocab_size": 300, "n_positions": 128},
        {
            "n_embd": 48,
            "n_layer": 3,
            "n_head": 6,
            "vocab_size": 99,
            "n_positions": 64,
            "n_inner": 100,
        },
        {"n_embd": 32, "n_layer": 1, "n_head": 2, "tie_word_embeddings": False, "vocab_size": 50},
    ],
    "gpt_neox": [{}, {"attention_bias": False}, {"tie_word_embeddings": True}],
    "bert": [
        {},
        {"type_vocab_size": 4, "max_position_embeddings": 128},
        {"tie_word_embeddings": False},
    ],
    "glm4": [{}, {"attention_bias": False, "head_dim": 16}, {"tie_word_embeddings": True}],
    "deepseek_v3": [
        {
            "n_routed_experts": 4,
            "num_experts_per_tok": 2,
            "moe_intermediate_size": 24,
            "first_k_dense_replace": 1,
            "n_shared_experts": 1,
            "q_lora_rank": 16,
            "kv_lora_rank": 8,
            "qk_rope_head_dim": 4,
            "qk_nope_head_dim": 8,
            "v_head_dim": 8,
            "n_group": 1,
            "topk_group": 1,
        },
        {
            "n_routed_experts": 4,
            "num_experts_per_tok": 2,
            "moe_intermediate_size": 24,
            "first_k_dense_replace": 0,
            "n_shared_experts": 2,
            "q_lora_rank": None,
            "kv_lora_rank": 8,
            "qk_rope_head_dim": 4,
            "qk_nope_head_dim": 8,
            "v_head_dim": 12,
            "attention_bias": True,
            "n_group": 1,
            "topk_group": 1,
        },
    ],
}


def test_every_supported_type_has_variants():
    assert set(VARIANTS) == set(SUPPORTED_MODEL_TYPES)


@pytest.mark.parametrize(
    "model_type,overrides",
    [(t, o) for t, vs in VARIANTS.items() for o in vs],
    ids=[f"{t}-{i}" for t, vs in VARIANTS.items() for i in range(len(vs))],
)
def test_count_equals_transformers(model_type, overrides):
    base = {} if model_type == "gpt2" else dict(SMALL)
    check({"model_type": model_type, **base, **overrides})


@st.composite
def llama_like(draw, model_type: str):
    heads = draw(st.sampled_from([2, 4, 8]))
    kv = draw(st.sampled_from([k for k in (1, 2, 4, 8) if heads % k == 0]))
    head_dim = draw(st.sampled_from([4, 8, 12, 16]))
    config = {
        "model_type": model_type,
        "vocab_size": draw(st.integers(16, 400)),
        "hidden_size": heads * head_dim * draw(st.sampled_from([1, 2])),
        "intermediate_size": draw(st.integers(8, 160)),
        "num_hidden_layers": draw(st.integers(1, 4)),
        "num_attention_heads": heads,
        "num_key_value_heads": kv,
        "pad_token_id": 0,
        "bos_token_id": 0,
        "eos_token_id": 0,
    }
    if draw(st.booleans()):
        config["head_dim"] = draw(st.sampled_from([4, 8, 20]))
    if draw(st.booleans()):
        config["tie_word_embeddings"] = draw(st.booleans())
    if model_type in ("llama", "qwen3", "gemma", "glm4", "qwen3_moe") and draw(st.booleans()):
        config["attention_bias"] = draw(st.booleans())
    if model_type == "llama" and draw(st.booleans()):
        config["mlp_bias"] = True
    if model_type in ("qwen2_moe", "qwen3_moe", "mixtral"):
        experts = draw(st.integers(1, 6))
        config["num_experts" if model_type != "mixtral" else "num_local_experts"] = experts
        config["num_experts_per_tok"] = draw(st.integers(1, experts))
        config["moe_intermediate_size"] = draw(st.integers(4, 64))
        if model_type == "qwen2_moe":
            config["shared_expert_intermediate_size"] = draw(st.integers(4, 64))
        if model_type != "mixtral":
            config["decoder_sparse_step"] = draw(st.integers(1, 3))
            layers = config["num_hidden_layers"]
            config["mlp_only_layers"] = draw(
                st.lists(st.integers(0, layers - 1), max_size=2, unique=True)
            )
    return config


DECODERS = [t for t in SUPPORTED_MODEL_TYPES if t not in ("gpt2", "bert", "deepseek_v3")]


@pytest.mark.parametrize("model_type", DECODERS)
@settings(max_examples=6, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data())
def test_drawn_configs_equal_transformers(model_type, data):
    check(data.draw(llama_like(model_type)))
