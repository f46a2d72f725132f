"""vLLM serving: the memory its V1 engine gives the paged KV cache, how many tokens and
sequences that holds, and the decode throughput at a load, on one card or tensor parallel.

vLLM takes ``gpu_memory_utilization`` of the card's *total* memory, loads the weights, runs
one profile forward of ``max_num_batched_tokens`` tokens (and the sampler over
``max_num_seqs`` rows), counts the torch allocator's peak and the memory outside torch, and
gives the rest to the KV cache in blocks of 16 tokens (``data/vllm.json``, each rule with the
vLLM file it was read from). Decode at ``concurrency`` sequences reads every weight once a
step for the whole batch plus each sequence's KV cache, over the card's bandwidth; with
tensor parallel each rank holds 1/N of the weights and the KV heads, and every layer adds
two all-reduces of the batch's hidden states over the link.
"""

from __future__ import annotations

import functools

from gpuwise.catalog import Card
from gpuwise.errors import GpuwiseError
from gpuwise.i18n import Message
from gpuwise.models.spec import ModelSpec
from gpuwise.packaged import packaged_json
from gpuwise.record import record

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

GIB = 1 << 30
GB = 10**9
TERA = 10**12
#: --weight-dtype values vLLM is planned with (the checkpoint's own: bf16 / fp16, or a
#: quantized checkpoint: AWQ / GPTQ 4-bit group 128, FP8).
WEIGHT_TYPES = ("bf16", "fp16", "awq", "gptq", "fp8")
#: --kv-dtype values: the model dtype (auto; bf16 / fp16 say the same) or fp8.
KV_TYPES = ("auto", "fp8")
_KV_ALIASES = {"bf16": "auto", "fp16": "auto", "float16": "auto", "auto": "auto", "fp8": "fp8"}
#: Largest --max-num-batched-tokens / --max-num-seqs / --concurrency gpuwise plans.
MAX_TOKENS = 1 << 20
MAX_SEQS = 1 << 16


@functools.lru_cache(maxsize=1)
def rules() -> dict[str, Any]:
    """data/vllm.json: vLLM's memory rules, defaults and speed assumptions, with sources."""
    data: dict[str, Any] = packaged_json("gpuwise.infer", "data/vllm.json")
    return data


@record
class VllmSettings:
    """How vLLM serves the model: the weights' type, the KV cache's (auto: the model dtype,
    or fp8), ``gpu_memory_utilization``, ``max_num_batched_tokens`` and ``max_num_seqs``
    (None: vLLM's default for the card), ``concurrency`` (sequences decoding at once; None:
    as many as fit) and the tensor-parallel size."""

    weight_type: str = "bf16"
    kv_type: str = "auto"
    gpu_memory_utilization: float = 0.9
    max_num_batched_tokens: int | None = None
    max_num_seqs: int | None = None
    concurrency: int | None = None
    tensor_parallel: int = 1
    weight_type_given: bool = False

    engine: str = "vllm"


def weight_type(value: str | None) -> tuple[str, bool]:
    """``--weight-dtype`` for vLLM -> (key, given); bf16 when none is given."""
    if value is None:
        return "bf16", False
    key = value.strip().lower()
    key = {"float16": "fp16", "bfloat16": "bf16", "f16": "fp16"}.get(key, key)
    if key not in WEIGHT_TYPES:
        raise GpuwiseError(
            Message("vllm.weight_type", value=repr(value), allowed=", ".join(WEIGHT_TYPES))
        )
    return key, True


def kv_type(value: str | None) -> str:
    """``--kv-dtype`` for vLLM: auto (the model dtype) or fp8."""
    if value is None:
        return "auto"
    key = _KV_ALIASES.get(value.strip().lower())
    if key is None:
        raise GpuwiseError(Message("vllm.kv_type", value=repr(value), allowed="bf16, fp16, fp8"))
    return key


def utilization(value: float | None) -> float:
    """``--gpu-memory-utilization``: a fraction in (0, 1] of the card's total memory."""
    if value is None:
        return float(rules()["gpu_memory_utilization"]["default"])
    if not 0 < value <= 1:  # also refuses nan
        raise GpuwiseError(Message("vllm.utilization_range", value=f"{value:g}"))
    return value


def count_flag(value: int | None, flag: str, most: int) -> int | None:
    """A positive count flag (``--max-num-batched-tokens``, ``--max-num-seqs``,
    ``--concurrency``), at most ``most``."""
    if value is None:
        return None
    if not 1 <= value <= most:
        raise GpuwiseError(Message("vllm.count_range", flag=flag, value=value, most=f"{most:,}"))
    return value


def batch_defaults(card: Card, total_bytes: int) -> tuple[int, int]:
    """(max_num_batched_tokens, max_num_seqs) ``vllm serve`` takes on ``card`` by default."""
    d = rules()["batch_defaults"]
    large = total_bytes >= d["large_card_gib"] * GIB and "a100" not in card.name.lower()
    pick = d["large"] if large else d["other"]
    return int(pick["max_num_batched_tokens"]), int(pick["max_num_seqs"])


def tensor_parallel_ok(spec: ModelSpec, tp: int) -> bool:
    """vLLM's rule: ``tp`` divides the attention heads; it divides the KV heads too, or (when
    there are fewer KV heads than ranks) is a multiple of them, each KV head then copied to
    tp / kv ranks (model_executor/models/llama.py and the other models' attention)."""
    heads, kv = spec.num_attention_heads, spec.num_kv_heads
    if heads % tp:
        return False
    return kv % tp == 0 if kv >= tp else tp % kv == 0


def check_tensor_parallel(spec: ModelSpec, tp: int) -> None:
    """A tensor-parallel size vLLM refuses for ``spec``: one line with the sizes it takes."""
    if tensor_parallel_ok(spec, tp):
        return
    sizes = ", ".join(str(n) for n in range(1, 65) if tensor_parallel_ok(spec, n))
    heads, kv = spec.num_attention_heads, spec.num_kv_heads
    if heads % tp:
        raise GpuwiseError(
            Message("vllm.tp_heads", tp=tp, model=spec.name, heads=heads, sizes=sizes)
        )
    raise GpuwiseError(Message("vllm.tp_kv_heads", tp=tp, model=spec.name, kv=kv, sizes=sizes))


def check_batching(max_num_batched_tokens: int, max_num_seqs: int) -> None:
    """vLLM's SchedulerConfig rule: max_num_batched_tokens >= max_num_seqs."""
    if max_num_batched_tokens < max_num_seqs:
        raise GpuwiseError(
            Message("vllm.batched_below_seqs", tokens=max_num_batched_tokens, seqs=max_num_seqs)
        )


# --- memory ---------------------------------------------------------------------------------


def weights_per_gpu(spec: ModelSpec, weight_type: str, tp: int) -> int:
    """Bytes of the weights on each of ``tp`` ranks (vLLM splits every linear layer, the
    embedding and the LM head by the vocabulary; the norms are tiny and counted 1/N too)."""
    from gpuwise.models.weight_types import weights_bytes

    key = "fp16" if weight_type in ("bf16", "fp16") else weight_type
    return -(-weights_bytes(spec, key) // tp)


def kv_bytes_per_token(spec: ModelSpec, kv: str, tp: int) -> int:
    """KV bytes one token takes on one rank, every layer: K and V of the rank's KV heads (at
    least one: fewer KV heads than ranks are replicated)."""
    size = int(rules()["kv_dtype"][kv])
    if spec.attention == "mla" and spec.kv_lora_rank:
        # MLA: one compressed latent row (kv_lora_rank + rope dims), replicated on each rank
        return spec.num_layers * size * (spec.kv_lora_rank + (spec.qk_rope_head_dim or 0))
    heads = max(1, spec.num_kv_heads // tp)
    return spec.num_layers * 2 * heads * spec.head_dim * size


def activation_peak(spec: ModelSpec, tokens: int, seqs: int) -> int:
    """The torch allocator's peak of vLLM's profile run above the weights: one forward of
    ``tokens`` tokens (the MLP's live set a token) and the sampler's fp32 logits over
    ``min(seqs, tokens)`` rows (data/vllm.json, ``activation_peak``)."""
    r = rules()["activation_peak"]
    width = 2  # the model dtype: bf16 / fp16 activations whatever the weights' storage
    intermediate = spec.intermediate_size
    if spec.num_experts and spec.num_experts_per_tok:
        intermediate = max(intermediate, spec.intermediate_size * spec.num_experts_per_tok)
    per_token = width * (
        r["per_token_intermediate"] * intermediate + r["per_token_hidden"] * spec.hidden_size
    )
    rows = min(seqs, tokens)
    sampler = rows * spec.vocab_size * 4 * int(r["sampler_fp32_copies"])
    return tokens * per_token + sampler


def non_torch_bytes(card: Card, tp: int) -> int:
    """Memory outside torch on each rank (published per card kind, and at tensor parallel 2;
    data/vllm.json)."""
    r = rules()["non_torch_bytes"]
    one = r["geforce_gib"] if card.segment == "geforce" else r["other_gib"]
    return round(one * (r["tensor_parallel_factor"] if tp > 1 else 1) * GIB)


def cuda_graph_bytes(spec: ModelSpec, params: int, tp: int) -> int:
    """The CUDA graphs' memory a rank takes after the cache is allocated (an assumption)."""
    per_billion = float(rules()["cuda_graph"]["gib_per_billion_params"])
    return round(per_billion * params / 1e9 / tp * GIB)


@record
class VllmMemory:
    """One rank's memory as vLLM sizes it, in bytes: the budget (total x utilization), the
    weights, the profiled activation peak, non-torch memory, what is left for the KV cache,
    the blocks and tokens that holds, and the CUDA graphs captured afterwards."""

    total_bytes: int
    budget_bytes: int
    weights: int
    activation: int
    non_torch: int
    kv_cache_bytes: int
    kv_bytes_per_token: int
    num_blocks: int
    kv_cache_tokens: int
    cuda_graph: int
    max_num_batched_tokens: int
    max_num_seqs: int

    @property
    def required_bytes(self) -> int:
        """What the rank holds once serving: its budget (the KV cache fills what is left of it;
        at least the fixed parts) plus the CUDA graphs."""
        fixed = self.weights + self.activation + self.non_torch
        return max(self.budget_bytes, fixed) + self.cuda_graph


def vllm_memory(
    spec: ModelSpec, s: VllmSettings, card: Card, total_bytes: int, params: int
) -> VllmMemory:
    """vLLM's memory on one rank of ``card`` (``total_bytes``: torch's total_memory)."""
    tokens_default, seqs_default = batch_defaults(card, total_bytes)
    tokens = s.max_num_batched_tokens or tokens_default
    seqs = s.max_num_seqs or seqs_default
    check_batching(tokens, seqs)  # with vLLM's defaults for the card filled in
    tp = s.tensor_parallel
    budget = int(total_bytes * s.gpu_memory_utilization)
    weights = weights_per_gpu(spec, s.weight_type, tp)
    act = activation_peak(spec, tokens, seqs)
    other = non_torch_bytes(card, tp)
    available = budget - weights - act - other
    per_token = kv_bytes_per_token(spec, s.kv_type, tp)
    block = int(rules()["block_size"]["value"])
    blocks = max(0, available) // (per_token * block)
    return VllmMemory(
        total_bytes=total_bytes,
        budget_bytes=budget,
        weights=weights,
        activation=act,
        non_torch=other,
        kv_cache_bytes=max(0, available),
        kv_bytes_per_token=per_token,
        num_blocks=blocks,
        kv_cache_tokens=blocks * block,
        cuda_graph=cuda_graph_bytes(spec, params, tp),
        max_num_batched_tokens=tokens,
        max_num_seqs=seqs,
    )


def max_concurrent(m: VllmMemory, seq: int) -> int:
    """Sequences of ``seq`` tokens served at once: what the cache's blocks hold (each
    sequence takes whole blocks), at most max_num_seqs."""
    block = int(rules()["block_size"]["value"])
    per_seq = -(-seq // block)
    return min(m.max_num_seqs, m.num_blocks // per_seq)


# --- speed ----------------------------------------------------------------------------------


def weights_read(spec: ModelSpec, weights: int, concurrency: int) -> int:
    """Weight bytes one decode step of ``concurrency`` sequences reads on a rank: all of them,
    but in a MoE model only the experts the batch routes to, each token picking k of E
    (the expected share of experts at least one of the sequences picks, routing taken as
    uniform)."""
    if not spec.num_experts or not spec.num_experts_per_tok:
        return weights
    expert = sum(b.numel for b in spec.blocks if b.experts > 0) / max(1, spec.params)
    untouched = (1 - min(1.0, spec.num_experts_per_tok / spec.num_experts)) ** concurrency
    return round(weights * (1 - expert * untouched))


@record
class VllmSpeed:
    """Decode at ``concurrency`` sequences of ``context`` tokens: the step time and its
    parts, the throughput (tokens/s, all sequences together) and one sequence's."""

    concurrency: int
    step_s: float
    memory_s: float
    compute_s: float
    all_reduce_s: float
    throughput_tokens_per_s: float
    bandwidth_efficiency: float
    bound: str  # "memory" or "compute"


def decode_speed(
    spec: ModelSpec,
    s: VllmSettings,
    card: Card,
    m: VllmMemory,
    concurrency: int,
    context: int,
    params: int,
    link_gb_s: float | None,
    link_kind: str,
) -> VllmSpeed:
    """A decode step of ``concurrency`` sequences at ``context`` tokens each, per rank: the
    rank's weights once plus each sequence's KV, or its share of the matrix products when the
    batch makes them the larger, plus two all-reduces a layer with tensor parallel."""
    sp = rules()["speed"]
    eff = float(sp["decode_bandwidth_efficiency"][s.weight_type])
    weights = weights_read(spec, m.weights, concurrency)
    read = weights + concurrency * context * m.kv_bytes_per_token
    memory_s = read / (card.bandwidth_gb_s * GB * eff)
    rate = card.bf16_tensor_tflops or card.fp16_tensor_tflops or card.fp32_tflops
    compute_s = (
        2
        * spec.active_params
        / s.tensor_parallel
        * concurrency
        / (rate * TERA * float(sp["compute_efficiency"]))
    )
    reduce_s = 0.0
    tp = s.tensor_parallel
    if tp > 1 and link_gb_s:
        tp_rules = rules()["tensor_parallel"]
        per_reduce = concurrency * spec.hidden_size * 2 * 2 * (tp - 1) / tp  # ring, bf16
        latency = float(
            tp_rules["all_reduce_latency_s"]["nvlink" if link_kind == "nvlink" else "pcie"]
        )
        count = int(tp_rules["all_reduces_per_layer"]) * spec.num_layers
        reduce_s = count * (per_reduce / (link_gb_s * GB) + latency)
    step = max(memory_s, compute_s) + reduce_s + float(sp["step_overhead_s"])
    return VllmSpeed(
        concurrency=concurrency,
        step_s=step,
        memory_s=memory_s,
        compute_s=compute_s,
        all_reduce_s=reduce_s,
        throughput_tokens_per_s=concurrency / step,
        bandwidth_efficiency=eff,
        bound="memory" if memory_s >= compute_s else "compute",
    )
