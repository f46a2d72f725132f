"""Optimizer states and training weights as users count them on the back of an envelope."""

from __future__ import annotations

import pytest
from hypothesis import assume, given
from hypothesis import strategies as st

from gpuwise.memory.optimizer import Tensor, state_bytes, step_temporary_bytes
from gpuwise.memory.train import base_weight_bytes, trainable_tensors
from gpuwise.memory.weights import weights_bytes
from gpuwise.models import load_model
from gpuwise.models.lora import lora_target_names
from gpuwise.workload import Workload

shapes = st.lists(
    st.tuples(st.integers(1, 5000), st.integers(1, 5000)).map(lambda t: Tensor(t, 1, "fp32")),
    min_size=1,
    max_size=6,
)


@given(shapes)
def test_adamw_keeps_two_states_per_element(tensors):
    n = sum(t.numel for t in tensors)
    assert state_bytes("adamw", tensors) == 8 * n + 4 * len(tensors)  # + a 4-byte step each
    assert step_temporary_bytes("adamw", tensors) == 4 * n
    assert step_temporary_bytes("adamw-fused", tensors) == 0
    assert state_bytes("sgd", tensors) == 4 * n


@given(shapes)
def test_8bit_adamw_is_about_a_quarter_of_fp32_adamw_for_big_tensors(tensors):
    big = [t for t in tensors if t.numel >= 4096]
    assume(big)
    ratio = state_bytes("adamw-8bit", big) / state_bytes("adamw", big)
    assert 0.25 <= ratio < 0.27  # 2 bytes vs 8, plus the absmax per 256 and the step


def test_adafactor_states_are_factored():
    t = [Tensor((4096, 4096), 1, "fp32")]
    assert state_bytes("adafactor", t) == 4 * (4096 + 4096)


def test_lora_trains_r_times_in_plus_out_per_target():
    spec = load_model("llama-3.1-8b")
    w = Workload(method="lora", lora_rank=16)
    adapters = sum(t.numel * t.count for t in trainable_tensors(spec, w))
    # per layer: q (4096->4096), k, v (4096->1024), o (4096->4096), gate, up (4096->14336),
    # down (14336->4096); 32 layers; r = 16
    per_layer = 16 * ((4096 + 4096) * 2 + (4096 + 1024) * 2 + (4096 + 14336) * 3)
    assert adapters == 32 * per_layer
    assert set(lora_target_names(spec)) == {
        "q_proj",
        "k_proj",
        "v_proj",
        "o_proj",
        "gate_proj",
        "up_proj",
        "down_proj",
    }


def test_qlora_of_fused_moe_experts_upcasts_them():
    """transformers 5 keeps MoE experts as fused 3-D parameters: bitsandbytes leaves them alone
    and prepare_model_for_kbit_training upcasts them to fp32, so QLoRA outgrows bf16 LoRA."""
    spec = load_model("qwen3-30b-a3b")
    assert base_weight_bytes(spec, Workload(method="qlora")) > weights_bytes(spec, "bf16")


@pytest.mark.parametrize("name", ["llama-3.1-8b", "gpt2", "phi-3-mini"])
def test_qlora_base_is_nf4_linears_and_fp32_rest(name):
    spec = load_model(name)
    q = base_weight_bytes(spec, Workload(method="qlora"))
    nf4 = weights_bytes(spec, "nf4", spec.train_blocks)
    bf16 = weights_bytes(spec, "bf16", spec.train_blocks)
    assert nf4 < q < bf16  # the unquantized parts are upcast to fp32, the linears are 4-bit
    assert base_weight_bytes(spec, Workload(precision="fp32")) == 2 * bf16
