"""One card's (or one tensor-parallel machine's) vLLM plan in gpuwise's common types: the
memory as a :class:`~gpuwise.memory.rank.RankMemory` (per rank), the speed as an
:class:`~gpuwise.timing.estimate.InferTime`, and the serving figures (:class:`Serving`) that
``cards[].serving`` of ``plan --json`` carries."""

from __future__ import annotations

import math

from gpuwise.catalog import Card
from gpuwise.i18n import Message
from gpuwise.infer.vllm import (
    TERA,
    VllmMemory,
    VllmSettings,
    decode_speed,
    max_concurrent,
    rules,
    vllm_memory,
    weights_read,
)
from gpuwise.memory.estimate import MemoryEstimate
from gpuwise.memory.rank import RankMemory
from gpuwise.models.spec import ModelSpec
from gpuwise.parallel import Parallel
from gpuwise.record import record
from gpuwise.timing.estimate import InferTime, run_and_energy

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

GIB = 1 << 30


@record
class Serving:
    """What vLLM serves on a card (or machine): the KV cache's bytes and tokens per rank, the
    sequences of ``--seq`` tokens it holds at once, and the throughput at ``concurrency``."""

    engine: str
    kv_cache_bytes: int
    kv_cache_tokens: int
    num_blocks: int
    max_concurrent_seqs: int
    concurrency: int
    throughput_tokens_per_s: float
    tensor_parallel: int
    gpu_memory_utilization: float
    max_num_batched_tokens: int
    max_num_seqs: int
    weights_bytes: int
    activation_bytes: int
    non_torch_bytes: int
    cuda_graph_bytes: int
    budget_bytes: int
    all_reduce_s: float
    link: str | None


@record(frozen=False)
class VllmCard:
    fits: bool
    headroom_bytes: int
    rank_memory: RankMemory
    time: InferTime
    serving: Serving
    problems: list[Message]


def engine_dict(s: VllmSettings) -> dict[str, Any]:
    """The ``engine`` object of ``plan --json`` for vLLM."""
    r = rules()["vllm"]
    return {
        "name": "vllm",
        "weight_type": s.weight_type,
        "weight_type_given": s.weight_type_given,
        "kv_type": s.kv_type,
        "gpu_memory_utilization": s.gpu_memory_utilization,
        "max_num_batched_tokens": s.max_num_batched_tokens,
        "max_num_seqs": s.max_num_seqs,
        "concurrency": s.concurrency,
        "tensor_parallel": s.tensor_parallel,
        "rules_from": f"{r['repo']} {r['read_at']}",
    }


def serving_dict(sv: Serving) -> dict[str, Any]:
    """``cards[].serving`` of ``plan --json``."""
    return {
        "engine": sv.engine,
        "kv_cache_bytes": sv.kv_cache_bytes,
        "kv_cache_tokens": sv.kv_cache_tokens,
        "num_blocks": sv.num_blocks,
        "max_concurrent_seqs": sv.max_concurrent_seqs,
        "concurrency": sv.concurrency,
        "throughput_tokens_per_s": sv.throughput_tokens_per_s,
        "tensor_parallel": sv.tensor_parallel,
        "gpu_memory_utilization": sv.gpu_memory_utilization,
        "max_num_batched_tokens": sv.max_num_batched_tokens,
        "max_num_seqs": sv.max_num_seqs,
        "per_gpu": {
            "budget_bytes": sv.budget_bytes,
            "weights_bytes": sv.weights_bytes,
            "activation_peak_bytes": sv.activation_bytes,
            "non_torch_bytes": sv.non_torch_bytes,
            "cuda_graph_bytes": sv.cuda_graph_bytes,
        },
        "all_reduce_s_per_step": sv.all_reduce_s,
        "link": sv.link,
    }


def vllm_card(
    spec: ModelSpec,
    s: VllmSettings,
    card: Card,
    total_bytes: int,
    reserve: int,
    seq: int,
    tokens: int | None = None,
    batch: int = 1,
) -> VllmCard:
    """vLLM on ``card`` (``s.tensor_parallel`` of it) with ``total_bytes`` of torch's total
    memory each, serving sequences of ``seq`` tokens; ``tokens`` to generate gives the time
    and energy of the run at the serving throughput."""
    from gpuwise.timing.parallel import card_link

    tp = s.tensor_parallel
    params = spec.params
    m = vllm_memory(spec, s, card, total_bytes, params)
    link = card_link(card, tp) if tp > 1 else None
    most = max_concurrent(m, seq)
    asked = s.concurrency or max(1, most)
    load = max(1, min(asked, most))  # the sequences that run at once; the rest wait
    one = decode_speed(
        spec, s, card, m, 1, seq, params, link.gb_s if link else None, link.kind if link else ""
    )
    at = decode_speed(
        spec, s, card, m, load, seq, params, link.gb_s if link else None, link.kind if link else ""
    )
    block = int(rules()["block_size"]["value"])
    need_one = -(-seq // block) * block * m.kv_bytes_per_token
    available = m.budget_bytes - _fixed(m)
    problems = card_problems(card, s)
    if m.budget_bytes > total_bytes - reserve:
        problems.append(
            Message(
                "vllm.reserve_over_budget",
                util=f"{s.gpu_memory_utilization:g}",
                budget=f"{m.budget_bytes / GIB:.1f}",
                free=f"{(total_bytes - reserve) / GIB:.1f}",
            )
        )
    headroom = available - need_one
    notes = _notes(spec, s, m, seq, most, asked, batch, need_one)
    estimate = MemoryEstimate(
        peak_allocated_bytes=m.weights + m.activation + m.kv_cache_bytes,
        breakdown={
            "weights": m.weights,
            "gradients": 0,
            "optimizer": 0,
            "activations": m.activation,
            "kv_cache": m.kv_cache_bytes,
            "temporaries": 0,
        },
        peak_phase="vllm",
        context_bytes=m.non_torch + m.cuda_graph,
        allocator_bytes=0,
        terms_from=f"vLLM {s.weight_type}",
        notes=notes,
    )
    time_notes: list[Any] = []
    generate_s, energy = run_and_energy(
        card, tokens, at.throughput_tokens_per_s, time_notes, cards=tp
    )
    rate = card.bf16_tensor_tflops or card.fp16_tensor_tflops or card.fp32_tflops
    eff = float(rules()["speed"]["compute_efficiency"])
    time = InferTime(
        prefill_tokens_per_s=rate * TERA * eff * tp / (2 * spec.active_params),
        decode_tokens_per_s=1 / one.step_s,
        decode_tokens_per_s_gpu_bound=1 / one.step_s,
        energy_kwh=energy,
        bandwidth_efficiency=one.bandwidth_efficiency,
        prefill_efficiency=eff,
        decode_step_s=one.step_s,
        decode_bound=one.bound,
        decode_bytes=weights_read(spec, m.weights, 1) + seq * m.kv_bytes_per_token,
        time_to_generate_s=generate_s,
        flops_per_s=None,
        notes=tuple(
            [
                Message(
                    "vllm.note.throughput",
                    load=f"{load:,}",
                    seq=f"{seq:,}",
                    tps=f"{at.throughput_tokens_per_s:,.0f}",
                    bound=Message(
                        "vllm.bound.memory" if at.bound == "memory" else "vllm.bound.compute"
                    ),
                    eff=f"{at.bandwidth_efficiency:.0%}",
                ),
                *time_notes,
            ]
        ),
    )
    serving = Serving(
        engine="vllm",
        kv_cache_bytes=m.kv_cache_bytes,
        kv_cache_tokens=m.kv_cache_tokens,
        num_blocks=m.num_blocks,
        max_concurrent_seqs=most,
        concurrency=load,
        throughput_tokens_per_s=at.throughput_tokens_per_s,
        tensor_parallel=tp,
        gpu_memory_utilization=s.gpu_memory_utilization,
        max_num_batched_tokens=m.max_num_batched_tokens,
        max_num_seqs=m.max_num_seqs,
        weights_bytes=m.weights,
        activation_bytes=m.activation,
        non_torch_bytes=m.non_torch,
        cuda_graph_bytes=m.cuda_graph,
        budget_bytes=m.budget_bytes,
        all_reduce_s=at.all_reduce_s,
        link=link.kind if link else None,
    )
    return VllmCard(
        fits=headroom >= 0 and not problems,
        headroom_bytes=headroom,
        rank_memory=RankMemory(estimate, 0, Parallel()),
        time=time,
        serving=serving,
        problems=problems,
    )


def card_problems(card: Card, s: VllmSettings) -> list[Message]:
    """What keeps vLLM from running ``s`` on ``card`` at all: a compute capability below what
    the engine or the weights' kernels need (data/vllm.json, ``compute_capability``)."""
    r = rules()["compute_capability"]
    major, minor = card.cc_tuple
    cc = major * 10 + minor
    need_engine = int(r["engine"])
    need = max(need_engine, int(r["weights"][s.weight_type]))
    if cc >= need:
        return []
    shown = card.compute_capability
    if cc < need_engine:
        return [Message("vllm.cc_engine", card=card.name, cc=shown, need=f"{need_engine / 10:.1f}")]
    if s.weight_type == "bf16":
        return [Message("vllm.cc_bf16", card=card.name, cc=shown)]
    return [
        Message(
            "vllm.cc_weights",
            card=card.name,
            cc=shown,
            weights=s.weight_type,
            need=f"{need / 10:.1f}",
        )
    ]


def _notes(
    spec: ModelSpec,
    s: VllmSettings,
    m: VllmMemory,
    seq: int,
    most: int,
    load: int,
    batch: int,
    need_one: int,
) -> list[Any]:
    """The plan's notes on vLLM's settings and memory (``need_one``: one ``seq``-token
    sequence's KV cache, in whole blocks)."""
    gib = 1 << 30
    notes: list[Any] = [
        Message(
            "vllm.note.engine",
            weights=s.weight_type,
            kv=s.kv_type,
            util=f"{s.gpu_memory_utilization:g}",
            tokens=f"{m.max_num_batched_tokens:,}",
            seqs=f"{m.max_num_seqs:,}",
        ),
        _budget_note(m, seq, need_one),
        Message("vllm.note.cuda_graph", gib=f"{m.cuda_graph / gib:.2f}"),
    ]
    if s.tensor_parallel > 1:
        notes.append(Message("vllm.note.tensor_parallel", tp=s.tensor_parallel))
    if batch > 1:
        notes.append(Message("vllm.note.batch", batch=batch, load=f"{load:,}"))
    if m.kv_cache_tokens < seq and m.budget_bytes > _fixed(m):
        notes.append(
            Message("vllm.note.seq_too_long", seq=f"{seq:,}", tokens=f"{m.kv_cache_tokens:,}")
        )
    elif most < load:
        notes.append(Message("vllm.note.queued", load=f"{load:,}", most=f"{most:,}"))
    return notes


def _fixed(m: VllmMemory) -> int:
    """What vLLM holds on a rank before its KV cache: weights, activation peak, non-torch."""
    return m.weights + m.activation + m.non_torch


def _budget_note(m: VllmMemory, seq: int, need_one: int) -> Message:
    """How vLLM's share splits; when the fixed parts alone exceed it, that, and the
    --gpu-memory-utilization that would leave room for one sequence of ``seq`` tokens
    (``need_one`` bytes of KV cache)."""
    gib = 1 << 30
    fixed = _fixed(m)
    if m.budget_bytes > fixed:
        return Message(
            "vllm.note.budget",
            budget=f"{m.budget_bytes / gib:.2f}",
            weights=f"{m.weights / gib:.2f}",
            act=f"{m.activation / gib:.2f}",
            other=f"{m.non_torch / gib:.2f}",
            kv=f"{m.kv_cache_bytes / gib:.2f}",
            tokens=f"{m.kv_cache_tokens:,}",
        )
    util = math.ceil((fixed + need_one) / m.total_bytes * 100) / 100
    from gpuwise.infer.vllm_advice import MOST_UTILIZATION as most

    fix = (
        Message("vllm.note.fix_util", util=f"{util:.2f}", seq=f"{seq:,}")
        if util <= most
        else Message("vllm.note.fix_weights")
    )
    return Message(
        "vllm.note.budget_short",
        budget=f"{m.budget_bytes / gib:.2f}",
        weights=f"{m.weights / gib:.2f}",
        act=f"{m.activation / gib:.2f}",
        other=f"{m.non_torch / gib:.2f}",
        fixed=f"{fixed / gib:.2f}",
        fix=fix,
    )
