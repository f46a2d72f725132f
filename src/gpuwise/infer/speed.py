"""How fast llama.cpp decodes and prefills on a card, from physics and calibrated efficiencies.

Decode (batch 1) reads every weight on the card once a token, plus the KV cache up to the
context: those bytes over the card's bandwidth at an efficiency per quant kind (f16, legacy
q4_0/q8_0, k-quants, i-quants), the layers left in host memory over the host bandwidth, plus a
fixed time a token (kernel launches, sampling). Prefill runs llama.cpp's MMQ kernels (int8
tensor cores; dp4a without them) for quantized weights and cuBLAS in f16 for f16 weights, at a
calibrated share of that rate, and attention on FP16 tensor cores; layers in host memory are
copied to the card for each ubatch.
The efficiencies were fitted on published llama-bench rows (``data/llamabench.json``) by
``scripts/llamacpp_accuracy.py --fit``; ``data/speed.json`` says which and how well.
"""

from __future__ import annotations

import functools

from gpuwise.catalog import Card
from gpuwise.infer.engine import EngineSettings
from gpuwise.infer.memory import LlamaMemory, WeightSplit, kv_cells, kv_per_token
from gpuwise.models.spec import ModelSpec
from gpuwise.models.weight_types import tensor_weights
from gpuwise.packaged import packaged_json
from gpuwise.record import record

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

GB = 10**9
TERA = 10**12
_LEGACY = ("q4_0", "q4_1", "q5_0", "q5_1", "q8_0")
_FLOAT = ("f16", "bf16", "f32")


@functools.lru_cache(maxsize=1)
def constants() -> dict[str, Any]:
    """data/speed.json: the calibrated efficiencies and the fixed costs, with their fit."""
    data: dict[str, Any] = packaged_json("gpuwise.infer", "data/speed.json")
    return data


def quant_kind(weight_type: str) -> str:
    """The kernel family a GGUF file type decodes with: f16, legacy, kquant or iquant."""
    if weight_type in _FLOAT:
        return "f16"
    if weight_type in _LEGACY:
        return "legacy"
    if weight_type.startswith("iq"):
        return "iquant"
    return "kquant"


def prefill_rate(card: Card, weight_type: str) -> tuple[float, str]:
    """(ops/s, path) of the matrix products llama.cpp prefills with on ``card``: MMQ on int8
    tensor cores (dp4a, 4 int8 products a lane per clock, without them) for quantized weights,
    cuBLAS f16 for float weights."""
    if weight_type in _FLOAT:
        return fp16_rate(card), "cublas_f16"
    if card.int8_tensor_tops:
        return card.int8_tensor_tops * TERA, "mmq"
    return 4 * card.fp32_tflops * TERA, "mmq_dp4a"


def fp16_rate(card: Card) -> float:
    """FLOP/s of cuBLAS's f16 GEMM as llama.cpp calls it (CUBLAS_COMPUTE_16F: FP16 accumulate),
    which GeForce cards run at twice their catalogued FP32-accumulate tensor rate (speed.json)."""
    if card.fp16_tensor_tflops:
        factor = 2.0 if card.segment == "geforce" else 1.0
        return card.fp16_tensor_tflops * factor * TERA
    return (card.fp16_nontensor_tflops or card.fp32_tflops) * TERA


@record
class LlamaSpeed:
    """Decode (batch 1, at ``context`` tokens) and prefill tokens per second, the bytes a decode
    step reads on the card and in host memory, and the efficiencies assumed."""

    decode_tokens_per_s: float
    prefill_tokens_per_s: float
    decode_gpu_bytes: int
    decode_host_bytes: int
    bandwidth_efficiency: float
    prefill_efficiency: float
    prefill_path: str
    host_bandwidth_gb_s: float


def _kv_read(spec: ModelSpec, s: EngineSettings, m: LlamaMemory, context: int) -> tuple[int, int]:
    """KV bytes a decode step at ``context`` reads on the card and in host memory."""
    per_token = kv_per_token(spec, s.kv_type)
    start = max(spec.num_layers + 1 - m.gpu_layers, 0)
    gpu = host = 0
    for il in range(spec.num_layers):
        read = per_token * min(context, kv_cells(spec, il, m.n_ctx, s.ubatch))
        if il >= start:
            gpu += read
        else:
            host += read
    return gpu, host


def _experts_skipped(spec: ModelSpec, m: LlamaMemory, split: WeightSplit) -> tuple[int, int]:
    """Expert bytes a batch-1 token does not read (it reads k of E experts a layer), on the
    card and in host memory."""
    if not spec.num_experts or not split.experts:
        return 0, 0
    unread = 1 - min(1.0, spec.num_experts_per_tok / spec.num_experts)
    start = max(spec.num_layers + 1 - m.gpu_layers, 0)
    gpu = sum(b for il, b in enumerate(split.experts) if il >= start)
    host = sum(split.experts) - gpu
    return round(gpu * unread), round(host * unread)


@functools.lru_cache(maxsize=256)
def matmul_elements(spec: ModelSpec, weight_type: str) -> int:
    """Weight elements a token multiplies by: every tensor but token_embd (looked up), k of E
    experts' tensors in a MoE layer."""
    share = spec.num_experts_per_tok / spec.num_experts if spec.num_experts else 1.0
    total = 0.0
    for t in tensor_weights(spec, weight_type):
        if not t.name.startswith("token_embd"):
            total += t.n_elements * (share if "_exps" in t.name else 1.0)
    return round(total)


def decode_bytes(
    spec: ModelSpec, s: EngineSettings, m: LlamaMemory, split: WeightSplit, context: int
) -> tuple[int, int]:
    """Bytes one decode step at ``context`` reads on the card and in host RAM: the weights
    (token_embd is looked up: one row), k of E experts, the KV cache up to ``context``."""
    kv_gpu, kv_host = _kv_read(spec, s, m, context)
    skip_gpu, skip_host = _experts_skipped(spec, m, split)
    gpu_bytes = m.weights_gpu - skip_gpu + kv_gpu
    host_bytes = m.weights_host - split.token_embd - skip_host + kv_host
    return gpu_bytes, host_bytes


def prefill_flops(spec: ModelSpec, weight_type: str, tokens: int) -> tuple[int, int]:
    """Operations of a prefill of ``tokens`` from an empty cache: (the matrix products with the
    weights, attention's QK^T and PV over the causal half)."""
    attn_dims = spec.num_attention_heads * spec.head_dim
    return (
        2 * matmul_elements(spec, weight_type) * tokens,
        2 * spec.num_layers * attn_dims * tokens * (tokens + 1),
    )


def prefill_compute_s(card: Card, weight_type: str, matmul: float, attention: float) -> float:
    """Seconds of ``matmul`` operations on the weights' kernel path and ``attention`` ones on
    FP16 tensor cores (flash attention and cuBLAS run attention in f16 whatever the weights)."""
    c = constants()["prefill_efficiency"]
    rate, path = prefill_rate(card, weight_type)
    return matmul / (rate * float(c[path])) + attention / (fp16_rate(card) * float(c["cublas_f16"]))


def decode_seconds(
    spec: ModelSpec, s: EngineSettings, card: Card, m: LlamaMemory, split: WeightSplit, context: int
) -> tuple[float, int, int, float]:
    """(seconds a token, bytes read on the card, bytes read in host memory, efficiency)."""
    c = constants()
    eff = float(c["decode_bandwidth_efficiency"][quant_kind(s.weight_type)])
    gpu_bytes, host_bytes = decode_bytes(spec, s, m, split, context)
    seconds = (
        gpu_bytes / (card.bandwidth_gb_s * GB * eff)
        + host_bytes / (s.host_bandwidth_gb_s * GB)
        + float(c["decode_overhead_s"])
    )
    return seconds, gpu_bytes, host_bytes, eff


def prefill_seconds(
    spec: ModelSpec, s: EngineSettings, card: Card, m: LlamaMemory, split: WeightSplit, tokens: int
) -> tuple[float, float, str]:
    """(seconds to prefill ``tokens`` from an empty cache, efficiency, kernel path)."""
    c = constants()
    _, path = prefill_rate(card, s.weight_type)
    eff = float(c["prefill_efficiency"][path])
    matmul, attention = prefill_flops(spec, s.weight_type, tokens)
    ubatches = -(-tokens // s.ubatch)
    pcie = pcie_bytes_s(card) * float(c["pcie_efficiency"])
    # layers in host RAM run on the card for a large ubatch: their weights cross PCIe each time
    copied = (m.weights_host - split.token_embd) * ubatches if not m.all_on_gpu else 0
    seconds = (
        prefill_compute_s(card, s.weight_type, matmul, attention)
        + copied / pcie
        + ubatches * float(c["ubatch_overhead_s"])
    )
    return seconds, eff, path


def pcie_bytes_s(card: Card) -> float:
    """The card's PCIe link, bytes/s one way (gen 4 x16 when the catalogue does not say)."""
    gen = card.pcie_gen or 4
    lanes = card.pcie_lanes or 16
    per_lane_gb_s = {3: 0.985, 4: 1.969, 5: 3.938}.get(gen, 1.969)
    return per_lane_gb_s * lanes * GB


def llama_speed(
    spec: ModelSpec,
    s: EngineSettings,
    card: Card,
    m: LlamaMemory,
    split: WeightSplit,
    context: int,
    prompt: int,
) -> LlamaSpeed:
    """Decode at ``context`` tokens and prefill of a ``prompt``-token prompt on ``card``."""
    step, gpu_bytes, host_bytes, bw_eff = decode_seconds(spec, s, card, m, split, context)
    pre_s, pre_eff, path = prefill_seconds(spec, s, card, m, split, prompt)
    return LlamaSpeed(
        decode_tokens_per_s=1 / step,
        prefill_tokens_per_s=prompt / pre_s,
        decode_gpu_bytes=gpu_bytes,
        decode_host_bytes=host_bytes,
        bandwidth_efficiency=bw_eff,
        prefill_efficiency=pre_eff,
        prefill_path=path,
        host_bandwidth_gb_s=s.host_bandwidth_gb_s,
    )
