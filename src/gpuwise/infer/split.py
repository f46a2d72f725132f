"""llama.cpp's layer split over several cards (``--split-mode layer``, its default).

The layer slots on the GPUs (the last ``k`` of ``n + 1``, the output layer last) are shared out
by each card's share of the cards' free memory, as ``--tensor-split`` does by default: slot
``il`` goes to the first card whose cumulative share exceeds ``(il - i_gpu_start) / k``
(``llama_model::load_tensors``, data/llamacpp.json ``placement``). Each card holds its layers'
weights and KV cache, a compute buffer (the one holding the output layer also the logits) and a
CUDA context. A token passes the cards one after another, so decode and prefill times add up.
Not counted: the extra input copies llama.cpp's scheduler keeps when it pipelines ubatches over
several cards (pipeline parallelism), and the prefill overlap that pipelining gives.
"""

from __future__ import annotations

import bisect
import functools

from gpuwise.catalog import Card
from gpuwise.infer.engine import EngineSettings
from gpuwise.infer.memory import (
    F32,
    WeightSplit,
    context_bytes,
    kv_cells,
    kv_per_token,
    layer_kv,
    padded_ctx,
    weight_split,
)
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
from gpuwise.models.spec import ModelSpec
from gpuwise.record import record


@record
class CardShare:
    """One card of a layer split: its repeating layers, whether it holds the output layer, and
    its bytes (weights, KV cache, compute buffer, CUDA context)."""

    card: Card
    usable_bytes: int
    layers: int
    output: bool
    weights: int
    kv: int
    compute: int
    context: int

    @property
    def gpu_bytes(self) -> int:
        return self.weights + self.kv + self.compute + self.context

    @property
    def headroom(self) -> int:
        return self.usable_bytes - self.gpu_bytes


@record
class Split:
    """A model split over cards at ``gpu_layers`` of ``total_layers`` (n + 1) slots."""

    gpu_layers: int
    total_layers: int
    n_ctx: int
    shares: tuple[CardShare, ...]
    weights_host: int
    kv_host: int
    slots: tuple[int, ...] = ()  # the device of each layer slot (-1: host RAM)

    @property
    def host_bytes(self) -> int:
        return self.weights_host + self.kv_host

    @property
    def fits(self) -> bool:
        return all(s.headroom >= 0 for s in self.shares)


def slot_devices(n_layers: int, gpu_layers: int, fractions: list[float]) -> list[int]:
    """The device of each of the n + 1 layer slots (slot n: the output layer); -1 = host."""
    return list(_slot_devices(n_layers, gpu_layers, tuple(fractions)))


@functools.lru_cache(maxsize=1024)
def _slot_devices(n_layers: int, gpu_layers: int, fractions: tuple[float, ...]) -> tuple[int, ...]:
    # worked out once per layer count and shares: a search meets the same ones machine after
    # machine (one card, or equal cards, whatever their memory)
    start = max(n_layers + 1 - gpu_layers, 0)
    active = min(gpu_layers, n_layers + 1)
    total = sum(fractions)
    cumulative, running = [], 0.0
    for f in fractions:
        running += f / total
        cumulative.append(running)
    out = []
    for il in range(n_layers + 1):
        if il < start or il - start >= active:
            out.append(-1)
        else:
            i = bisect.bisect_right(cumulative, (il - start) / active)
            out.append(min(i, len(fractions) - 1))
    return tuple(out)


def _buffers(spec: ModelSpec, s: EngineSettings, n_ctx: int, all_on_gpu: bool) -> tuple[int, int]:
    """(a layer's compute buffer, the output layer's), as memory.compute_buffer adds them."""
    u = min(s.ubatch, n_ctx)
    e, h, vocab = spec.hidden_size, spec.num_attention_heads, spec.vocab_size
    scores = 0 if s.flash_attn else n_ctx * h
    mask = 2 * u * n_ctx if s.flash_attn else 0
    layer = F32 * u * (1 + 4 * e + (0 if s.flash_attn else n_ctx) + scores) + mask
    head = F32 * u * (e + vocab)
    if not all_on_gpu:
        head += e * vocab * 105 // 128  # large batches run here with host weights copied over
    return layer, head


def split_memory(
    spec: ModelSpec,
    s: EngineSettings,
    cards: list[Card],
    usables: list[int],
    n_ctx: int,
    gpu_layers: int,
) -> Split:
    """The memory of each card when ``gpu_layers`` slots are split over ``cards`` by their
    ``usables`` (free memory), and what stays in host RAM."""
    n = spec.num_layers
    ctx = padded_ctx(n_ctx)
    fractions = tuple(float(max(u, 1)) for u in usables)
    if len(set(fractions)) == 1 and fractions[0] < 2.0**48:
        # equal cards share the slots as equal shares of 1 do (whole bytes, sums exact:
        # f / (k * f) rounds to 1 / k whatever f is), so their memory need not be the key
        fractions = (1.0,) * len(fractions)
    devices, layers, weights, kv, weights_host, kv_host = _placed(
        spec, s.weight_type, s.kv_type, s.ubatch, ctx, gpu_layers, fractions
    )
    out_dev = devices[n]
    layer_buf, head_buf = _buffers(spec, s, ctx, gpu_layers >= n + 1)
    shares = tuple(
        CardShare(
            card=card,
            usable_bytes=usables[i],
            layers=layers[i],
            output=out_dev == i,
            weights=weights[i],
            kv=kv[i],
            compute=(max(layer_buf, head_buf) if out_dev == i else layer_buf if layers[i] else 0),
            context=context_bytes(),
        )
        for i, card in enumerate(cards)
    )
    return Split(gpu_layers, n + 1, ctx, shares, weights_host, kv_host, tuple(devices))


@functools.lru_cache(maxsize=1024)
def _placed(
    spec: ModelSpec,
    weight_type: str,
    kv_type: str,
    ubatch: int,
    ctx: int,
    gpu_layers: int,
    fractions: tuple[float, ...],
) -> tuple[tuple[int, ...], list[int], list[int], list[int], int, int]:
    """Where each layer slot goes and what that puts on each card: ``(devices, layers,
    weights, kv, weights_host, kv_host)``; worked out once per split (a search over the
    catalogue meets the same split, one card or equal ones, machine after machine). Read it,
    never change it."""
    ws = weight_split(spec, weight_type)
    n = spec.num_layers
    per_layer = layer_kv(spec, kv_type, ctx, ubatch)
    devices = _slot_devices(n, gpu_layers, fractions)
    layers = [0] * len(fractions)
    weights = [0] * len(fractions)
    kv = [0] * len(fractions)
    weights_host = ws.token_embd
    kv_host = 0
    for il in range(n):
        cells = per_layer[il]
        d = devices[il]
        if d < 0:
            weights_host += ws.layers[il]
            kv_host += cells
        else:
            layers[d] += 1
            weights[d] += ws.layers[il]
            kv[d] += cells
    out_dev = devices[n]
    if out_dev < 0:
        weights_host += ws.output
    else:
        weights[out_dev] += ws.output
    return devices, layers, weights, kv, weights_host, kv_host


#: The layer count most_layers_split found, by what decides it (the cards' free memory, not which
#: cards they are): a search over the catalogue meets the same memory on many cards.
_MOST: dict[tuple[object, ...], int] = {}


def most_layers_split(
    spec: ModelSpec, s: EngineSettings, cards: list[Card], usables: list[int], n_ctx: int
) -> Split:
    """The split at the most GPU layers every card has room for (at 0 when none fit). A count
    of layers whose bytes alone, with every card's CUDA context and the output layer's
    buffer, exceed all the cards' memory together cannot fit on any split: it is passed over
    without splitting it (a search over the catalogue tries hundreds of machines)."""
    ws = weight_split(spec, s.weight_type)
    key = (spec, s, tuple(usables), n_ctx)
    k = _MOST.get(key)
    if k is None:
        k = _most_layers(spec, s, cards, usables, n_ctx, ws)
        if len(_MOST) > 4096:
            _MOST.clear()
        _MOST[key] = k
    return split_memory(spec, s, cards, usables, n_ctx, k)


def _most_layers(
    spec: ModelSpec,
    s: EngineSettings,
    cards: list[Card],
    usables: list[int],
    n_ctx: int,
    ws: WeightSplit,
) -> int:
    n = spec.num_layers
    ctx = padded_ctx(n_ctx)
    per_token = kv_per_token(spec, s.kv_type)
    # bytes of slots il..n (weights and KV cache), the output layer last
    tail = [0] * (n + 2)
    tail[n] = ws.output
    for il in range(n - 1, -1, -1):
        tail[il] = tail[il + 1] + ws.layers[il] + per_token * kv_cells(spec, il, ctx, s.ubatch)
    room = sum(usables) - len(cards) * context_bytes()
    for k in range(n + 1, 0, -1):
        layer_buf, head_buf = _buffers(spec, s, ctx, k >= n + 1)
        if tail[n + 1 - k] + max(layer_buf, head_buf) > room:
            continue
        if split_memory(spec, s, cards, usables, n_ctx, k).fits:
            return k
    return 0


@functools.lru_cache(maxsize=256)
def _layer_reads(spec: ModelSpec, s: EngineSettings, n_ctx: int, context: int) -> tuple[float, ...]:
    """Bytes each repeating layer reads per decoded token at ``context`` (its weights, less the
    experts a token does not use, and its KV cache), whichever card it is on: the same for
    every machine a search tries."""
    ws = weight_split(spec, s.weight_type)
    per_token = kv_per_token(spec, s.kv_type)
    unread = 0.0
    if spec.num_experts and ws.experts:
        unread = 1 - min(1.0, spec.num_experts_per_tok / spec.num_experts)
    return tuple(
        ws.layers[il]
        - ws.experts[il] * unread
        + per_token * min(context, kv_cells(spec, il, n_ctx, s.ubatch))
        for il in range(spec.num_layers)
    )


def split_speed(
    spec: ModelSpec, s: EngineSettings, m: Split, context: int, prompt: int
) -> LlamaSpeed:
    """Decode at ``context`` and prefill of ``prompt`` tokens, the cards running one after
    another (a token passes them in turn; prefill ubatches are not overlapped)."""
    c = constants()
    ws = weight_split(spec, s.weight_type)
    eff = float(c["decode_bandwidth_efficiency"][quant_kind(s.weight_type)])
    read = [0.0] * len(m.shares)
    # the output layer when it is in host RAM; host layers are added below (token_embd is
    # looked up, one row a token)
    host = float(ws.output if m.slots[spec.num_layers] < 0 else 0)
    for il, b in enumerate(_layer_reads(spec, s, m.n_ctx, context)):
        d = m.slots[il]
        if d < 0:
            host += b
        else:
            read[d] += b
    out = m.slots[spec.num_layers]
    if out >= 0:
        read[out] += ws.output
    step = sum(
        r / (sh.card.bandwidth_gb_s * GB * eff) for r, sh in zip(read, m.shares, strict=True)
    )
    step += host / (s.host_bandwidth_gb_s * GB) + float(c["decode_overhead_s"])
    matmul, attention = prefill_flops(spec, s.weight_type, prompt)
    on_gpu = sum(sh.weights for sh in m.shares) or 1
    pre = 0.0
    path = "mmq"
    for sh in m.shares:
        _, path = prefill_rate(sh.card, s.weight_type)
        share = sh.weights / on_gpu
        pre += prefill_compute_s(sh.card, s.weight_type, matmul * share, attention * share)
    pre_eff = float(c["prefill_efficiency"][path])
    ubatches = -(-prompt // s.ubatch)
    if m.gpu_layers < m.total_layers:
        pcie = min(pcie_bytes_s(sh.card) for sh in m.shares) * float(c["pcie_efficiency"])
        pre += (m.weights_host - ws.token_embd) * ubatches / pcie
    pre += ubatches * float(c["ubatch_overhead_s"])
    return LlamaSpeed(
        decode_tokens_per_s=1 / step,
        prefill_tokens_per_s=prompt / pre,
        decode_gpu_bytes=round(sum(read)),
        decode_host_bytes=round(host),
        bandwidth_efficiency=eff,
        prefill_efficiency=pre_eff,
        prefill_path=path,
        host_bandwidth_gb_s=s.host_bandwidth_gb_s,
    )
