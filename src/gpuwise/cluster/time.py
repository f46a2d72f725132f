"""How long one optimizer step of a training layout takes on a cluster, and its MFU.

A step runs ``m`` micro-batches (``layout.micro_batches``) on every pipeline stage. For the worst
stage (the last: its layers and the LM head) one micro-batch costs

- **compute**: the single-card step model's work (:mod:`gpuwise.timing.step`: a roofline per
  GEMM with tile fill and tail, attention, bandwidth-bound kernels, kernel launches) for the
  stage's ``ceil(layers / pp)`` layers at the GEMM shapes one GPU runs: ``batch x seq / cp``
  tokens, column-parallel linears split by output, row-parallel ones by input, the head by
  vocabulary (smaller GEMMs fill fewer tiles and run further below the peak); attention at
  ``1 / (tp x cp)`` of the stage's; norms and adds split by ``tp`` only under sequence parallel;
- **tensor parallel**: 2 collectives per layer in the forward, 2 in the backward (2 more under
  recompute), each moving ``2 (tp-1)/tp`` of ``tokens x hidden`` 16-bit activations over the
  node's link (:func:`gpuwise.timing.parallel.card_link`), exposed;
- **context parallel**: the ring's K/V passes, hidden behind the attention they run beside;
- **pipeline**: the activation forward and its gradient back at a stage boundary (``v`` times
  under interleaving), inside a node or over the network (ranks numbered tp, cp, dp, pp);
- **FSDP / ZeRO-3** weight gathers and gradient reduce-scatters, hidden behind the micro-batch's
  compute up to the one-node model's overlap fractions.

The step is ``(m + (pp-1)/v)`` micro-batch times (1F1B; interleaved with ``v`` chunks), plus
what of the once-a-step data-parallel collectives the last backward does not hide, plus the
optimizer step over the GPU's shard. Data-parallel groups spanning nodes run hierarchically:
a ring inside the node, then one across nodes on the node's NICs, shared by its GPUs, with
the network's latency per step. MFU = ``(6N + attention) x tokens / (world x peak x step)``.
Rules and constants: ``cluster/data/cluster_time.json``, each with its source.
"""

from __future__ import annotations

import functools
import math

from gpuwise.errors import GpuwiseError
from gpuwise.i18n import Message
from gpuwise.packaged import packaged_json
from gpuwise.record import record
from gpuwise.units import DTYPE_BYTES

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

    from gpuwise.cluster import Cluster
    from gpuwise.cluster.layout import Layout
    from gpuwise.i18n import Text
    from gpuwise.models.spec import ModelSpec
    from gpuwise.timing.step import Constants
    from gpuwise.workload import Workload

GB = 1e9
TILE = 128
_TABLE_PARTS = ("embedding", "position_embedding")


@functools.lru_cache(maxsize=1)
def time_data() -> dict[str, Any]:
    """The cluster time model's rules and constants (``cluster/data/cluster_time.json``)."""
    data: dict[str, Any] = packaged_json("gpuwise.cluster", "data/cluster_time.json")
    return data


def _v(key: str) -> Any:
    return time_data()[key]["value"]


@record
class ClusterTime:
    """One optimizer step of a layout (seconds) and what it is made of. The communication
    parts are what stays exposed after the overlap rules; ``compute_s`` is the worst stage's
    compute of the step's micro-batches; ``step_s`` adds the parts and the optimizer step."""

    step_s: float
    compute_s: float
    tp_comm_s: float
    cp_comm_s: float
    pp_p2p_s: float
    pp_bubble_s: float
    dp_comm_s: float
    tokens_per_s: float
    mfu: float
    tokens_per_s_low: float
    tokens_per_s_high: float
    notes: list  # Message lines
    optimizer_s: float = 0.0
    step_tokens: int = 0


@record
class _Stage:
    """What one micro-batch costs the worst stage's GPU, whatever the network."""

    compute_s: float
    attention_s: float
    tp_bytes: float  # bytes each GPU moves in tensor-parallel collectives
    tp_collectives: int
    cp_bytes: float
    p2p_bytes: float
    stage_params: float  # trainable parameters this GPU holds before data-parallel sharding
    layers: int


def _row_parallel(name: str) -> bool:
    tail = name.rsplit(".", 1)[-1]
    return tail in _v("row_parallel")


def _fill(m: float, n: float) -> float:
    tiles = math.ceil(m / TILE) * math.ceil(n / TILE) * TILE * TILE
    return m * n / tiles if tiles else 1.0


def _gemm_s(
    m: float, k: float, n: float, count: float, elem: int, rate: float, bw: float, c: Constants
) -> float:
    """``count`` GEMMs of ``(m x k) @ (k x n)``: the longer of their FLOPs over the filled tiles
    at ``rate`` and their bytes at ``bw``, plus each one's tail (timing/step.py's roofline)."""
    if count <= 0 or m <= 0 or k <= 0 or n <= 0:
        return 0.0
    flops = 2.0 * m * k * n
    moved = elem * (m * k + k * n + m * n)
    return count * (max(flops / _fill(m, n) / rate, moved / bw) + c.gemm_tail_s)


def _stage(spec: ModelSpec, w: Workload, cluster: Cluster, layout: Layout) -> _Stage:
    from gpuwise.timing.flops import train_flops_per_token
    from gpuwise.timing.rates import matmul_rate
    from gpuwise.timing.step import constants

    card, c = cluster.card, constants()
    rate = matmul_rate(card, w.compute_dtype)
    if rate.flops_per_s is None:
        raise GpuwiseError(Message("cluster_rec.no_rate", card=card.name))
    peak = rate.flops_per_s
    tp, pp, cp = layout.tp, layout.pp, layout.cp
    layers = max(1, spec.num_layers)
    per_stage = math.ceil(layers / pp)
    share = per_stage / layers
    tokens = w.batch * w.seq / cp
    elem = DTYPE_BYTES[w.compute_dtype]
    e_mm = min(1.0, c.matmul_efficiency(card.architecture) * float(_v("engine_matmul_scale")))
    bw = card.bandwidth_gb_s * GB * c.e_bw
    mm_rate = peak * e_mm
    trained = not w.is_lora
    passes = 3.0 if trained else 2.0  # forward, input gradient (, weight gradient)
    recompute = 1.0 if w.grad_checkpointing else 0.0
    layer_s = head_s = 0.0
    k_experts = spec.num_experts_per_tok
    head_params = embed_params = 0.0
    has_head = False
    for b in spec.train_blocks:
        if b.part in _TABLE_PARTS:
            embed_params += b.numel * b.count
            continue
        if len(b.shape) < 2:
            continue
        m = tokens
        count = float(b.count)
        if b.experts:
            m = max(1.0, tokens * min(k_experts, b.experts) / b.experts)
            count *= b.experts
        if b.part == "lm_head":
            has_head = True
            head_params += b.numel * b.count
            head_s += _gemm_s(m, b.in_features, b.out_features / tp, count, elem, mm_rate, bw, c)
            continue
        k, n = float(b.in_features), float(b.out_features)
        if _row_parallel(b.name):
            k /= tp
        else:
            n /= tp
        layer_s += _gemm_s(m, k, n, count * share, elem, mm_rate, bw, c)
    if not has_head and (spec.tie_word_embeddings or spec.kind == "encoder"):
        head_s = _gemm_s(tokens, spec.hidden_size, spec.vocab_size / tp, 1.0, elem, mm_rate, bw, c)
    matmul_s = layer_s * (passes + recompute) + head_s * passes
    flops = train_flops_per_token(spec, w)
    attention_flops = (flops.attention + flops.attention / 3.0 * recompute) * share
    # ring attention: each GPU's queries meet every key, so 1/cp of the sequence's attention
    attention_s = attention_flops * w.batch * w.seq / cp / tp / (mm_rate * c.attention_factor)
    hidden = spec.hidden_size / (tp if layout.sequence_parallel else 1)
    per_token_layer = (
        c.elementwise_hidden * hidden + c.elementwise_intermediate * spec.intermediate_size / tp
    ) * elem
    memory = tokens * per_stage * per_token_layer * (3.0 + recompute)
    memory += tokens * spec.vocab_size / tp * c.loss_bytes_per_logit
    memory_s = memory / bw
    ops = per_stage * c.ops_per_layer * (3.0 + recompute)
    gpu_s = matmul_s + attention_s + memory_s + ops * c.kernel_gpu_s
    compute_s = max(gpu_s, ops * c.op_cpu_s)
    act = tokens * spec.hidden_size * elem
    tp_collectives = 0
    tp_bytes = 0.0
    if tp > 1:
        tp_collectives = per_stage * (4 + 2 * int(recompute))
        tp_bytes = tp_collectives * 2 * (tp - 1) / tp * act
    cp_bytes = 0.0
    if cp > 1:
        d_qk, d_v = spec.head_dims
        kv_heads = spec.num_kv_heads / tp if spec.num_kv_heads >= tp else 1.0
        chunk = tokens * kv_heads * (d_qk + d_v) * elem
        cp_bytes = per_stage * (3 + recompute) * (cp - 1) * chunk
    p2p_bytes = act / (tp if layout.sequence_parallel else 1) if pp > 1 else 0.0
    from gpuwise.timing.estimate import trainable_params

    total = float(trainable_params(spec, w))
    if trained:
        body = max(0.0, total - embed_params - head_params)
        ends = max(embed_params, head_params) if pp > 1 else embed_params + head_params
        stage_params = (body * share + ends) / tp
    else:
        stage_params = total / (tp * pp)
    return _Stage(
        compute_s,
        attention_s,
        tp_bytes,
        tp_collectives,
        cp_bytes,
        p2p_bytes,
        stage_params,
        per_stage,
    )


def _intra_gb_s(cluster: Cluster, ranks: int) -> float:
    from gpuwise.timing.parallel import card_link

    return card_link(cluster.card, max(2, ranks)).gb_s * GB


def _per_gpu_net(cluster: Cluster) -> float:
    """Bytes a second one GPU sends to other nodes while every GPU of its node does too."""
    if cluster.inter_node_bytes_per_s <= 0:  # a Cluster made without make_cluster's check
        raise GpuwiseError(Message("cluster.needs_network", nodes=cluster.nodes))
    return cluster.inter_node_bytes_per_s / cluster.gpus_per_node


def _net_latency_s(cluster: Cluster) -> float:
    return cluster.network.latency_us * 1e-6 if cluster.network is not None else 0.0


def _ring_s(cluster: Cluster, size: int, inner: int, data: float, factor: float) -> float:
    """A ring collective of ``data`` bytes per GPU over ``size`` ranks, ``inner`` of them in
    each node: ``factor`` 1 for a reduce-scatter or all-gather, 2 for an all-reduce. Inside
    one node a ring on the node's link; across nodes hierarchical (the node's ring, then one
    across nodes of each GPU's 1/inner share on the node's NICs, shared by its GPUs)."""
    if size <= 1 or data <= 0:
        return 0.0
    lat = float(_v("intra_latency_us")) * 1e-6
    inner = max(1, min(inner, size))
    nodes = size // inner
    t = 0.0
    if inner > 1:
        t += factor * (inner - 1) / inner * data / _intra_gb_s(cluster, inner)
        t += factor * (inner - 1) * lat
    if nodes > 1:
        t += factor * (nodes - 1) / nodes * (data / inner) / _per_gpu_net(cluster)
        t += factor * (nodes - 1) * _net_latency_s(cluster)
    return t


def _overlap() -> tuple[float, float]:
    from gpuwise.timing.parallel import interconnect

    o = interconnect()["overlap"]["value"]
    return float(o["parameters"]), float(o["gradients"])


def cluster_time(spec: ModelSpec, w: Workload, cluster: Cluster, layout: Layout) -> ClusterTime:
    """Step time, throughput and MFU of ``layout`` on ``cluster`` (see the module's rules);
    ``w.batch`` sequences of ``w.seq`` tokens per micro-batch per replica. A card without a
    known matmul rate: one line (GpuwiseError)."""
    from gpuwise.timing.estimate import optimizer_bytes
    from gpuwise.timing.flops import train_flops_per_token
    from gpuwise.timing.step import constants

    st = _stage(spec, w, cluster, layout)
    card, gpn = cluster.card, cluster.gpus_per_node
    tp, pp, cp, dp = layout.tp, layout.pp, layout.cp, layout.dp
    m = layout.micro_batches
    v = layout.virtual_stages if layout.schedule == "interleaved" else 1
    notes: list[Text] = []
    lat = float(_v("intra_latency_us")) * 1e-6
    # tensor parallel: inside a node, on its link
    tp_s = 0.0
    if tp > 1:
        link = _intra_gb_s(cluster, tp)
        tp_s = st.tp_bytes / link + st.tp_collectives * 2 * (tp - 1) * lat
        tp_s *= 1.0 - float(_v("tp_overlap"))
        notes.append(Message("cluster_rec.note.tp", tp=tp, ms=f"{1e3 * tp_s:.1f}"))
    # context parallel: neighbours in the node while tp*cp fits in it
    cp_s = 0.0
    if cp > 1:
        if tp * cp <= gpn:
            bw, hop = _intra_gb_s(cluster, tp * cp), lat
        else:
            bw, hop = _per_gpu_net(cluster), _net_latency_s(cluster)
        ring = st.cp_bytes / bw + st.layers * 3 * (cp - 1) * hop
        cp_s = max(0.0, ring - st.attention_s)
    # pipeline point-to-point: stages are tp*cp*dp ranks apart; a pipeline spanning nodes has
    # a boundary on the network, and its slowest boundary sets its pace
    p2p_s = 0.0
    if pp > 1:
        apart = tp * cp * dp
        if apart * pp > gpn and cluster.nodes > 1:
            bw, hop = _per_gpu_net(cluster), _net_latency_s(cluster)
        else:
            bw, hop = _intra_gb_s(cluster, 2), lat
        p2p_s = 2 * v * (st.p2p_bytes / bw + hop)
    # data parallel: the dp x cp ranks that hold the same weights
    group = dp * cp
    inner = max(1, min(group, gpn // min(gpn, tp)))  # ranks of the group inside one node
    grad_elem = 4 if w.amp else DTYPE_BYTES[w.compute_dtype]
    grads = st.stage_params * grad_elem
    weights = st.stage_params * DTYPE_BYTES[w.compute_dtype]
    hide_params, hide_grads = _overlap()
    compute = st.compute_s
    backward = compute * 2.0 / 3.0
    per_mb_s = 0.0  # exposed per micro-batch (FSDP / ZeRO-3 / ZeRO-2)
    step_comm = 0.0  # once a step, after the last backward
    after_s = 0.0  # once a step, before the next forward
    shard = group
    sh = layout.sharding
    if group > 1:
        if sh == "ddp":
            shard = 1
            step_comm = _ring_s(cluster, group, inner, grads, 2.0)
        elif sh in ("zero1", "zero2"):
            rs = _ring_s(cluster, group, inner, grads, 1.0)
            if sh == "zero2":
                per_mb_s = max(0.0, rs - backward * hide_grads)
            else:
                step_comm = rs
            after_s = _ring_s(cluster, group, inner, weights, 1.0)
        elif sh in ("fsdp", "zero3"):
            gather = 2 * _ring_s(cluster, group, inner, weights, 1.0)
            rs = _ring_s(cluster, group, inner, grads, 1.0)
            per_mb_s = max(0.0, gather - compute * hide_params) + max(
                0.0, rs - backward * hide_grads
            )
        else:  # hsdp: shard among the group's ranks in one node, replicate across nodes
            shard = inner
            gather = 2 * _ring_s(cluster, inner, inner, weights, 1.0)
            rs = _ring_s(cluster, inner, inner, grads, 1.0)
            per_mb_s = max(0.0, gather - compute * hide_params) + max(
                0.0, rs - backward * hide_grads
            )
            replicas = group // inner
            step_comm = _ring_s(cluster, replicas, 1, grads / inner, 2.0)
    exposed_step = max(0.0, step_comm - backward * hide_grads)
    exposed_after = max(0.0, after_s - compute * hide_params)
    t_mb = compute + tp_s + cp_s + p2p_s + per_mb_s
    bubble = (pp - 1) / v * t_mb if pp > 1 else 0.0
    c = constants()
    bw_card = card.bandwidth_gb_s * GB * c.e_bw
    optimizer_s = optimizer_bytes(spec, w) / (tp * pp * shard) / bw_card
    step_s = m * t_mb + bubble + exposed_step + exposed_after + optimizer_s
    step_tokens = w.batch * w.seq * dp * m
    tokens_per_s = step_tokens / step_s
    flops = train_flops_per_token(spec, w)
    peak = _dense_bf16(card)
    mfu = flops.model * step_tokens / (cluster.world * peak * step_s) if peak else 0.0
    if pp > 1:
        notes.append(
            Message("cluster_rec.note.bubble", pp=pp, m=m, v=v, share=f"{bubble / step_s:.0%}")
        )
    if cluster.nodes > 1 and cluster.network is not None:
        notes.append(
            Message(
                "cluster_rec.note.network",
                network=cluster.network.name,
                gb_s=f"{cluster.inter_node_bytes_per_s / GB:.0f}",
                gpus=gpn,
            )
        )
    r = _v("range")
    return ClusterTime(
        step_s=step_s,
        compute_s=m * compute,
        tp_comm_s=m * tp_s,
        cp_comm_s=m * cp_s,
        pp_p2p_s=m * p2p_s,
        pp_bubble_s=bubble,
        dp_comm_s=m * per_mb_s + exposed_step + exposed_after,
        tokens_per_s=tokens_per_s,
        mfu=mfu,
        tokens_per_s_low=tokens_per_s * float(r["low"]),
        tokens_per_s_high=tokens_per_s * float(r["high"]),
        notes=notes,
        optimizer_s=optimizer_s,
        step_tokens=step_tokens,
    )


def _dense_bf16(card: Any) -> float:
    """The dense bf16 tensor peak MFU is measured against (FLOP/s); the card's bf16 matmul
    rate as :mod:`gpuwise.timing.rates` gives it where the catalogue has no figure."""
    if card.bf16_tensor_tflops:
        return float(card.bf16_tensor_tflops) * 1e12
    from gpuwise.timing.rates import matmul_rate

    return matmul_rate(card, "bf16").flops_per_s or 0.0
