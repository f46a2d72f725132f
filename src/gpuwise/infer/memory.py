"""The memory llama.cpp allocates for a GGUF model: on the card and in host RAM.

With ``-ngl k`` of ``n`` repeating layers (llama.cpp counts ``n + 1``: the output layer is
one), the output layer and the last ``k - 1`` blocks live on the GPU, the rest and the token
embeddings in host memory (``data/llamacpp.json``, ``placement``). Each weight is counted at the
GGUF type llama.cpp's quantizer gives it (:mod:`gpuwise.models.weight_types`). The KV cache is
kept on the device of its layer; the compute buffer is the graph allocator's peak for one
ubatch; the CUDA context comes on top.
"""

from __future__ import annotations

import functools

from gpuwise.infer.engine import EngineSettings, rules
from gpuwise.models.spec import ModelSpec
from gpuwise.models.weight_types import tensor_bytes, tensor_weights
from gpuwise.record import record

#: Bytes of an f32 activation.
F32 = 4


@record
class LlamaMemory:
    """Where llama.cpp puts a model at ``gpu_layers`` of ``total_layers`` (n + 1), in bytes;
    ``n_ctx`` is the context as allocated (rounded up to 256)."""

    gpu_layers: int
    total_layers: int
    n_ctx: int
    weights_gpu: int
    weights_host: int
    kv_gpu: int
    kv_host: int
    compute_gpu: int
    context: int

    @property
    def gpu_bytes(self) -> int:
        """What the card must hold: weights, KV cache, compute buffer and the CUDA context."""
        return self.weights_gpu + self.kv_gpu + self.compute_gpu + self.context

    @property
    def host_bytes(self) -> int:
        """Host RAM the weights and the KV cache left off the card take."""
        return self.weights_host + self.kv_host

    @property
    def all_on_gpu(self) -> bool:
        return self.gpu_layers == self.total_layers


@record
class WeightSplit:
    """The model's weights by where llama.cpp puts them: per repeating layer, the output layer
    (output_norm, output.weight: token_embd's copy when the model ties them) and the input
    (token_embd, always in host memory)."""

    layers: tuple[int, ...]
    output: int
    token_embd: int
    experts: tuple[int, ...] = ()  # per layer, the bytes of its expert tensors (MoE)


@functools.lru_cache(maxsize=64)
def weight_split(spec: ModelSpec, weight_type: str) -> WeightSplit:
    """The bytes of each part of ``spec`` stored as ``weight_type`` (a GGUF file type). Cached:
    a plan asks for it card after card."""
    layers = [0] * spec.num_layers
    experts = [0] * spec.num_layers
    output = token_embd = 0
    has_output = False
    for t in tensor_weights(spec, weight_type):
        if t.layer is not None and 0 <= t.layer < spec.num_layers:
            layers[t.layer] += t.bytes
            if "_exps" in t.name:
                experts[t.layer] += t.bytes
        elif t.name.startswith("token_embd"):
            token_embd += t.bytes
        else:
            output += t.bytes
            has_output = has_output or t.name.startswith("output.")
    if not has_output:
        # a tied model: llama.cpp makes the output a duplicate of token_embd on the output
        # layer's device (TENSOR_DUPLICATED in llama-model.cpp)
        output += token_embd
    return WeightSplit(tuple(layers), output, token_embd, tuple(experts))


def padded_ctx(n_ctx: int) -> int:
    pad = int(rules()["kv_cache"]["n_ctx_pad"])
    return -(-n_ctx // pad) * pad


def kv_per_token(spec: ModelSpec, kv_type: str) -> int:
    """KV bytes one token takes in one full-attention layer (K and V rows)."""
    if spec.attention == "mla" and spec.kv_lora_rank:
        # MLA (DeepSeek): one compressed row, kv_lora_rank + the rope dims, read as both K and
        # V (a log of 61 layers x 32768 cells at q8_0: 1166.6 MiB = 576 values a cell:
        # https://github.com/ikawrakow/ik_llama.cpp/pull/259)
        return tensor_bytes(kv_type, spec.kv_lora_rank + (spec.qk_rope_head_dim or 0))
    k = v = spec.num_kv_heads * spec.head_dim
    return tensor_bytes(kv_type, k) + tensor_bytes(kv_type, v)


def is_sliding(spec: ModelSpec, layer: int) -> bool:
    """Whether llama.cpp keeps layer ``layer``'s cache to a sliding window: the config's
    layer_types, else Gemma 2 (even layers) and Gemma 3 (all but every ``pattern``-th), as
    transformers and llama.cpp's gemma2 / gemma3 models alternate them. Other families with a
    window are given a full cache (the larger: llama.cpp does not slide every one of them)."""
    if not spec.sliding_window:
        return False
    if len(spec.layer_types) == spec.num_layers:
        return spec.layer_types[layer] == "sliding_attention"
    if spec.model_type == "gemma2":
        return layer % 2 == 0
    if spec.model_type in ("gemma3", "gemma3_text"):
        pattern = int(str(spec.extra.get("sliding_window_pattern", 6)))
        return (layer + 1) % pattern != 0
    return False


def kv_cells(spec: ModelSpec, layer: int, n_ctx: int, ubatch: int) -> int:
    """Cells of layer ``layer``'s cache: n_ctx, or for a sliding-window layer the window plus
    one ubatch, rounded up to 256 (llama-kv-cache-iswa.cpp), if that is less."""
    if spec.sliding_window and is_sliding(spec, layer):
        return min(n_ctx, padded_ctx(spec.sliding_window + ubatch))
    return n_ctx


def compute_buffer(spec: ModelSpec, s: EngineSettings, n_ctx: int, all_on_gpu: bool) -> int:
    """The CUDA compute buffer (graph allocator peak for one ubatch), data/llamacpp.json."""
    u = min(s.ubatch, n_ctx)
    e, h, hkv, dh, vocab = (
        spec.hidden_size,
        spec.num_attention_heads,
        spec.num_kv_heads,
        spec.head_dim,
        spec.vocab_size,
    )
    scores = 0 if s.flash_attn else n_ctx * h  # the KQ matrix, per token of the ubatch
    mask = 2 * u * n_ctx if s.flash_attn else 0
    # the mask is an input every layer reads: live through the layers, freed before the head;
    # f32 without flash attention (the n_ctx floats a token), f16 with it, when no f32 row of
    # n_ctx is live (llama.cpp's CPU graph, tests/infer/test_llamacpp_real.py)
    f32_mask = 0 if s.flash_attn else n_ctx
    if all_on_gpu:
        return max(F32 * u * (1 + 4 * e + f32_mask + scores) + mask, F32 * u * (e + vocab))
    layer = (
        F32 * u * (1 + e + max(n_ctx, e))
        + e * e * 9 // 16
        + F32 * (u * scores + n_ctx * dh * hkv)
        + mask
    )
    head = F32 * u * (e + vocab) + e * vocab * 105 // 128
    return F32 * u * e + max(layer, head)


@functools.lru_cache(maxsize=1)
def context_bytes() -> int:
    return int(rules()["cuda_context_mib"]["value"]) << 20


@functools.lru_cache(maxsize=64)
def layer_kv(spec: ModelSpec, kv_type: str, ctx: int, ubatch: int) -> tuple[int, ...]:
    """Bytes of each layer's KV cache at ``ctx`` cells (padded), as :func:`kv_cells` sizes it."""
    per_token = kv_per_token(spec, kv_type)
    return tuple(per_token * kv_cells(spec, il, ctx, ubatch) for il in range(spec.num_layers))


@functools.lru_cache(maxsize=1024)
def llama_memory(
    spec: ModelSpec,
    s: EngineSettings,
    n_ctx: int,
    gpu_layers: int,
    split: WeightSplit | None = None,
) -> LlamaMemory:
    """llama.cpp's memory for ``spec`` at context ``n_ctx`` with ``gpu_layers`` on the card.
    Cached: the search for the most layers a card holds meets the same counts card after
    card."""
    split = split or weight_split(spec, s.weight_type)
    n = spec.num_layers
    start = max(n + 1 - gpu_layers, 0)  # layer slots >= start are on the GPU; slot n: output
    ctx = padded_ctx(n_ctx)
    per_token = kv_per_token(spec, s.kv_type)
    weights_gpu = weights_host = kv_gpu = kv_host = 0
    for il in range(n):
        kv = per_token * kv_cells(spec, il, ctx, s.ubatch)
        if il >= start:
            weights_gpu += split.layers[il]
            kv_gpu += kv
        else:
            weights_host += split.layers[il]
            kv_host += kv
    on_gpu = gpu_layers >= 1
    if on_gpu:
        weights_gpu += split.output
    else:
        weights_host += split.output
    weights_host += split.token_embd
    all_on_gpu = gpu_layers >= n + 1
    return LlamaMemory(
        gpu_layers=gpu_layers,
        total_layers=n + 1,
        n_ctx=ctx,
        weights_gpu=weights_gpu,
        weights_host=weights_host,
        kv_gpu=kv_gpu,
        kv_host=kv_host,
        compute_gpu=compute_buffer(spec, s, ctx, all_on_gpu),
        context=context_bytes(),
    )


def most_layers(spec: ModelSpec, s: EngineSettings, n_ctx: int, usable: int) -> LlamaMemory:
    """The memory at the most GPU layers whose card memory is at most ``usable`` bytes (what
    llama.cpp's automatic fitting and Ollama aim for); at 0 layers when none fit."""
    split = weight_split(spec, s.weight_type)
    lo, hi = 0, spec.num_layers + 1
    every = llama_memory(spec, s, n_ctx, hi, split)
    if every.gpu_bytes <= usable:
        # all layers first: with one layer in host RAM the compute buffer grows (it holds the
        # output layer's batch copy), so n layers can need more than n + 1
        return every
    best = llama_memory(spec, s, n_ctx, 0, split)
    if best.gpu_bytes > usable:
        return best
    while lo < hi:  # memory grows with the layers: bisect for the last that fits
        mid = (lo + hi + 1) // 2
        m = llama_memory(spec, s, n_ctx, mid, split)
        if m.gpu_bytes <= usable:
            lo, best = mid, m
        else:
            hi = mid - 1
    return best
