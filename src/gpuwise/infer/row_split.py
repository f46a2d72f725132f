"""llama.cpp's row split over several cards (``--split-mode row``, llama.cpp's ``-sm row``).

As llama.cpp places a model in row mode (data/llamacpp.json ``row_split``, read from
``ggml-cuda.cu`` and ``llama-model.cpp``): each layer, its KV cache, its norms and compute
buffer go to one card as the layer split puts them (:func:`gpuwise.infer.split.split_memory`);
every dense weight matrix (attention, the dense MLP, the output head) is cut by rows over all
the cards in proportion to their total memory; MoE expert tensors stay on their layer's card.

A token then reads each card's slice of every matrix at once (the slowest card sets the pace),
the KV cache on the layer's card, and pays a synchronisation for every split matrix product
(the activations copied to the other cards and the row slices copied back; CUDA graphs off).
Prefill splits the matrix products' work the same way and moves the activations of the whole
ubatch over PCIe for each product.
"""

from __future__ import annotations

from gpuwise.catalog import Card
from gpuwise.infer.engine import EngineSettings, rules
from gpuwise.infer.memory import WeightSplit, kv_cells, kv_per_token, weight_split
from gpuwise.infer.speed import (
    GB,
    LlamaSpeed,
    constants,
    pcie_bytes_s,
    prefill_compute_s,
    prefill_flops,
    prefill_rate,
    quant_kind,
)
from gpuwise.infer.split import Split, split_memory
from gpuwise.models.spec import ModelSpec
from gpuwise.record import replace

#: Bytes an activation value crosses PCIe (and takes in a card's pool) as: q8_1 blocks (32
#: int8 + a 4-byte scale pair) for quantized weights (MMQ / MMVQ quantize src1 first), f32 for
#: float weights.
_Q8_1 = 36 / 32
_F32 = 4


def row_fractions(totals: list[int]) -> list[float]:
    """Each card's share of every split matrix's rows: its total memory over all the cards'
    (ggml_cuda_info().default_tensor_split; the MMQ tile rounding is left out)."""
    whole = sum(max(t, 1) for t in totals)
    return [max(t, 1) / whole for t in totals]


def _split_bytes(ws: WeightSplit, devices: tuple[int, ...], n: int) -> tuple[list[int], int]:
    """(each layer's bytes that stay on its card: its experts; the dense bytes cut by rows over
    every card: the dense weights of the layers on the cards and the output layer there)."""
    own = [0] * n
    dense = 0
    for il in range(n):
        if devices[il] >= 0:
            own[il] = ws.experts[il] if ws.experts else 0
            dense += ws.layers[il] - own[il]
    if devices[n] >= 0:
        dense += ws.output
    return own, dense


def row_split_memory(
    spec: ModelSpec,
    s: EngineSettings,
    cards: list[Card],
    totals: list[int],
    available: list[int],
    n_ctx: int,
    gpu_layers: int,
) -> Split:
    """Each card's memory with ``gpu_layers`` slots on the cards in row mode: the layer split's
    KV cache, compute buffer and CUDA context (layers placed by ``available``, free memory),
    the weights of its layers' experts, its share (by ``totals``) of every dense matrix, and the
    pool its part of a split matrix product of a ubatch keeps (counted with the compute buffer)."""
    ws = weight_split(spec, s.weight_type)
    m = split_memory(spec, s, cards, available, n_ctx, gpu_layers)  # weights split as ws
    n = spec.num_layers
    own, dense = _split_bytes(ws, m.slots, n)
    fractions = row_fractions(totals)
    shares = []
    for i, share in enumerate(m.shares):
        experts = sum(own[il] for il in range(n) if m.slots[il] == i)
        pool = _pool_bytes(spec, s, fractions[i]) if len(cards) > 1 else 0
        shares.append(
            replace(
                share,
                weights=round(dense * fractions[i]) + experts,
                compute=share.compute + pool,
            )
        )
    return replace(m, shares=tuple(shares))


def _pool_bytes(spec: ModelSpec, s: EngineSettings, fraction: float) -> int:
    """What a card's CUDA memory pool keeps for split matrix products of a ubatch, beside the
    graph's compute buffer (ggml_cuda_op_mul_mat's pool allocations): the activations copied in
    as f32 and as q8_1 at the widest input, and its row slice of the widest output in f32."""
    e, q = spec.hidden_size, spec.num_attention_heads * spec.head_dim
    ff = 0 if spec.num_experts else spec.intermediate_size
    widest_in, widest_out = max(e, q, ff), max(e, q, ff)
    return round(s.ubatch * (widest_in * (_F32 + _Q8_1) + widest_out * _F32 * fraction))


def most_layers_row(
    spec: ModelSpec,
    s: EngineSettings,
    cards: list[Card],
    totals: list[int],
    available: list[int],
    n_ctx: int,
) -> Split:
    """The row split at the most GPU layers every card has room for (0 when none fit): a card's
    bytes grow with the layers on the cards, so the count is found by halving."""
    low, high = 0, spec.num_layers + 1
    while low < high:
        mid = (low + high + 1) // 2
        if row_split_memory(spec, s, cards, totals, available, n_ctx, mid).fits:
            low = mid
        else:
            high = mid - 1
    return row_split_memory(spec, s, cards, totals, available, n_ctx, low)


def sync_s() -> float:
    """The assumed fixed time of one split matrix product (data/llamacpp.json)."""
    return float(rules()["row_split"]["sync_s_per_matmul"])


def _matmuls_per_layer() -> int:
    return int(rules()["row_split"]["matmuls_per_layer"])


def _pcie_dims(spec: ModelSpec) -> tuple[int, int]:
    """(the input widths, the output widths) of a layer's split matrix products, summed: q, k,
    v, o and (dense models) gate, up, down."""
    e, q = spec.hidden_size, spec.num_attention_heads * spec.head_dim
    kv = spec.num_kv_heads * spec.head_dim
    ins, outs = 3 * e + q, q + 2 * kv + e
    if not spec.num_experts:
        ff = spec.intermediate_size
        ins, outs = ins + 2 * e + ff, outs + 2 * ff + e
    return ins, outs


def row_split_speed(
    spec: ModelSpec,
    s: EngineSettings,
    m: Split,
    totals: list[int],
    context: int,
    prompt: int,
) -> LlamaSpeed:
    """Decode at ``context`` and prefill of ``prompt`` tokens in row mode (every layer on the
    cards: a row split with layers in host RAM is timed the same, their reads over the host's
    bandwidth)."""
    c = constants()
    ws = weight_split(spec, s.weight_type)
    n = spec.num_layers
    eff = float(c["decode_bandwidth_efficiency"][quant_kind(s.weight_type)])
    fractions = row_fractions(totals)
    own, dense = _split_bytes(ws, m.slots, n)
    per_token = kv_per_token(spec, s.kv_type)
    unread = 0.0
    if spec.num_experts and ws.experts:
        unread = 1 - min(1.0, spec.num_experts_per_tok / spec.num_experts)
    # every card reads its slice of the dense matrices at once: the slowest sets the pace
    bws = [sh.card.bandwidth_gb_s * GB * eff for sh in m.shares]
    step = max(dense * f / bw for f, bw in zip(fractions, bws, strict=True))
    host = 0.0
    on_cards = kv_read = 0
    for il in range(n):
        d = m.slots[il]
        kv = per_token * min(context, kv_cells(spec, il, m.n_ctx, s.ubatch))
        experts = ws.experts[il] if ws.experts else 0
        if d < 0:
            host += ws.layers[il] - experts * unread + kv
        else:
            on_cards += 1
            kv_read += kv
            step += (own[il] * (1 - unread) + kv) / bws[d]
    if m.slots[n] < 0:
        host += ws.output
    matmuls = on_cards * _matmuls_per_layer() + (1 if m.slots[n] >= 0 else 0)
    step += host / (s.host_bandwidth_gb_s * GB) + float(c["decode_overhead_s"])
    step += matmuls * sync_s() if len(m.shares) > 1 else 0.0
    # prefill: each card's share of the matrix products, attention on the layers' cards, and the
    # ubatch's activations to the other cards and their slices back, for every product
    matmul, attention = prefill_flops(spec, s.weight_type, prompt)
    on_gpu = sum(sh.layers for sh in m.shares) or 1
    pre = max(
        prefill_compute_s(sh.card, s.weight_type, matmul * f, attention * sh.layers / on_gpu)
        for sh, f in zip(m.shares, fractions, strict=True)
    )
    _, path = prefill_rate(m.shares[0].card, s.weight_type)
    if len(m.shares) > 1:
        ins, outs = _pcie_dims(spec)
        width = _F32 if quant_kind(s.weight_type) == "f16" else _Q8_1
        pcie = min(pcie_bytes_s(sh.card) for sh in m.shares) * float(c["pcie_efficiency"])
        moved = prompt * on_cards * (ins * width + outs * _F32 * max(fractions))
        pre += moved / pcie + matmuls * sync_s() * -(-prompt // s.ubatch)
    pre += -(-prompt // s.ubatch) * float(c["ubatch_overhead_s"])
    return LlamaSpeed(
        decode_tokens_per_s=1 / step,
        prefill_tokens_per_s=prompt / pre,
        decode_gpu_bytes=round(dense + sum(own) * (1 - unread) + kv_read),
        decode_host_bytes=round(host),
        bandwidth_efficiency=eff,
        prefill_efficiency=float(c["prefill_efficiency"][path]),
        prefill_path=path,
        host_bandwidth_gb_s=s.host_bandwidth_gb_s,
    )
