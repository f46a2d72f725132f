"""One card's llama.cpp plan: the context, how many layers go on the card, the memory there
and in host RAM, decode and prefill speed, and the notes that say what was assumed.

:func:`llama_card` gives the plan's parts as the rest of gpuwise reads a card's plan (a
:class:`~gpuwise.memory.rank.RankMemory` and an :class:`~gpuwise.timing.estimate.InferTime`),
with the offload (:class:`Offload`) on top.
"""

from __future__ import annotations

from gpuwise.catalog import Card
from gpuwise.i18n import Message
from gpuwise.infer.engine import EngineSettings, ollama_n_ctx, rules
from gpuwise.infer.memory import LlamaMemory, llama_memory, most_layers, weight_split
from gpuwise.infer.speed import LlamaSpeed, llama_speed
from gpuwise.memory.estimate import MemoryEstimate
from gpuwise.memory.rank import RankMemory
from gpuwise.models.spec import ModelSpec
from gpuwise.parallel import Parallel
from gpuwise.record import record
from gpuwise.timing.estimate import InferTime, run_and_energy

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

    from gpuwise.infer.split import Split


@record
class GpuShare:
    """One card of a layer split: its name, the bytes it needs, what it has, its layers
    (repeating layers; ``output``: it holds the output layer)."""

    name: str
    memory_bytes: int
    usable_bytes: int
    layers: int
    output: bool


@record
class Offload:
    """llama.cpp's split of the model: ``gpu_layers`` of ``total_layers`` (n + 1, the output
    layer counted) on the card, ``host_bytes`` of weights and KV cache in host RAM, at the
    context ``n_ctx`` as allocated (rounded up to 256)."""

    gpu_layers: int
    total_layers: int
    host_bytes: int
    n_ctx: int
    per_gpu: tuple[GpuShare, ...] = ()  # several cards: each one's part of the layer split


@record(frozen=False)
class LlamaCard:
    """A card's llama.cpp plan: the settings as run on it (its ``n_ctx``), the memory, the
    speed, whether it fits, the headroom, and the plan's parts in gpuwise's common types.

    ``fits``: with ``--gpu-layers auto``, every layer is on the card (a model that runs only
    with layers left in host RAM does not fit; ``offload`` says how it runs); with
    ``--gpu-layers N``, those N layers fit."""

    settings: EngineSettings
    memory: LlamaMemory
    speed: LlamaSpeed
    fits: bool
    headroom_bytes: int
    rank_memory: RankMemory
    time: InferTime
    offload: Offload


def engine_dict(s: EngineSettings) -> dict[str, Any]:
    """The ``engine`` object of ``plan --json`` for llama.cpp / Ollama."""
    r = rules()
    return {
        "name": s.engine,
        "weight_type": s.weight_type,
        "weight_type_given": s.weight_type_given,
        "kv_type": s.kv_type,
        "gpu_layers": "auto" if s.gpu_layers is None else s.gpu_layers,
        "ubatch": s.ubatch,
        "flash_attn": s.flash_attn,
        "host_bandwidth_gb_s": s.host_bandwidth_gb_s,
        "host_bandwidth_given": s.host_bandwidth_given,
        "split_mode": s.split_mode,
        "rules_from": f"{r['llama_cpp']['repo']} {r['llama_cpp']['read_at']}",
        "defaults_from": (
            "https://github.com/ollama/ollama/tree/" + r["defaults"]["ollama"]["commit"]
            if s.ollama
            else None
        ),
    }


def offload_dict(o: Offload) -> dict[str, Any]:
    """``cards[].offload`` of ``plan --json``; with several cards also ``name`` (the machine:
    "GeForce RTX 3090 + GeForce RTX 3090") and ``per_gpu``."""
    out: dict[str, Any] = {
        "offload": {
            "gpu_layers": o.gpu_layers,
            "total_layers": o.total_layers,
            "host_bytes": o.host_bytes,
            "n_ctx": o.n_ctx,
        }
    }
    if o.per_gpu:
        out["name"] = " + ".join(g.name for g in o.per_gpu)
        out["per_gpu"] = [
            {
                "name": g.name,
                "memory_bytes": g.memory_bytes,
                "usable_memory_bytes": g.usable_bytes,
                "layers": g.layers,
                "output_layer": g.output,
            }
            for g in o.per_gpu
        ]
    return out


def n_ctx_for(spec: ModelSpec, s: EngineSettings, card: Card, seq: int) -> int:
    """The context llama.cpp is started with: ``--seq`` (or Ollama's default for the card's
    memory when none was given and the engine is Ollama)."""
    if s.n_ctx is not None:
        return s.n_ctx
    if s.ollama:
        return ollama_n_ctx(card.memory_gb, spec)
    return seq


def fit_margin(s: EngineSettings) -> int:
    """Bytes llama.cpp's automatic fitting keeps free on each card (--fit-target, 1024 MiB):
    for --gpu-layers auto; none when the layers are given (data/llamacpp.json, ``fit``)."""
    if s.gpu_layers is not None:
        return 0
    return int(rules()["fit"]["margin_mib"]) << 20


def memory_on(spec: ModelSpec, s: EngineSettings, n_ctx: int, available: int) -> LlamaMemory:
    """The memory at the GPU layers asked for, or the most that fit in ``available`` bytes."""
    if s.gpu_layers is None:
        return most_layers(spec, s, n_ctx, available)
    return llama_memory(spec, s, n_ctx, s.gpu_layers)


def llama_card(
    spec: ModelSpec,
    s: EngineSettings,
    card: Card,
    usable: int,
    reserve: int,
    seq: int,
    batch: int = 1,
    tokens: int | None = None,
) -> LlamaCard:
    """llama.cpp on ``card`` with ``usable`` bytes (less ``reserve``) for a ``seq``-token
    context; ``tokens`` to generate gives the time and energy of the run."""
    n_ctx = n_ctx_for(spec, s, card, seq)
    s = s.with_(n_ctx=n_ctx)
    available = usable - reserve
    m = memory_on(spec, s, n_ctx, available - fit_margin(s))
    split = weight_split(spec, s.weight_type)
    # decode at --seq tokens of context (Ollama may allocate more), a --seq-token prompt
    at = min(seq, n_ctx)
    speed = llama_speed(spec, s, card, m, split, context=at, prompt=at)
    notes = _notes(spec, s, card, m, speed, batch)
    estimate = _estimate(s, m.weights_gpu, m.kv_gpu, m.compute_gpu, m.context, notes)
    time_notes: list[str] = []
    generate_s, energy = run_and_energy(card, tokens, speed.decode_tokens_per_s, time_notes)
    step = 1 / speed.decode_tokens_per_s
    time = InferTime(
        prefill_tokens_per_s=speed.prefill_tokens_per_s,
        decode_tokens_per_s=speed.decode_tokens_per_s,
        decode_tokens_per_s_gpu_bound=speed.decode_tokens_per_s,
        energy_kwh=energy,
        bandwidth_efficiency=speed.bandwidth_efficiency,
        prefill_efficiency=speed.prefill_efficiency,
        decode_step_s=step,
        decode_bound="memory",
        decode_bytes=speed.decode_gpu_bytes + speed.decode_host_bytes,
        time_to_generate_s=generate_s,
        flops_per_s=None,
        notes=tuple(_speed_notes(s, m, speed, at) + time_notes),
    )
    headroom = available - m.gpu_bytes
    return LlamaCard(
        settings=s,
        memory=m,
        speed=speed,
        fits=headroom >= 0 and (s.gpu_layers is not None or m.all_on_gpu),
        headroom_bytes=headroom,
        rank_memory=RankMemory(estimate, m.host_bytes, Parallel()),
        time=time,
        offload=Offload(m.gpu_layers, m.total_layers, m.host_bytes, m.n_ctx),
    )


def _notes(
    spec: ModelSpec, s: EngineSettings, card: Card, m: LlamaMemory, speed: LlamaSpeed, batch: int
) -> list[Any]:
    notes: list[Any] = [
        Message("infer.note.engine", engine=s.engine, weights=s.weight_type.upper()),
        Message(
            "infer.note.memory",
            n_ctx=f"{m.n_ctx:,}",
            kv=s.kv_type,
            ubatch=s.ubatch,
            fa=Message("infer.fa.on" if s.flash_attn else "infer.fa.off"),
        ),
    ]
    if s.ollama:
        notes.append(
            Message(
                "infer.note.ollama",
                commit=rules()["defaults"]["ollama"]["commit"][:7],
                n_ctx=f"{m.n_ctx:,}",
            )
        )
    if s.gpu_layers is None:
        notes.append(Message("infer.note.fit_margin", mib=rules()["fit"]["margin_mib"]))
    if not s.weight_type_given:
        notes.append(Message("infer.note.default_weights", weights=s.weight_type.upper()))
    if batch > 1:
        notes.append(Message("infer.note.one_sequence", batch=batch))
    if spec.is_moe:
        notes.append(
            Message("infer.note.moe_active", k=spec.num_experts_per_tok, experts=spec.num_experts)
        )
    return notes


def _speed_notes(s: EngineSettings, m: LlamaMemory, speed: LlamaSpeed, context: int) -> list[Any]:
    notes: list[Any] = []
    if not m.all_on_gpu:
        notes.append(
            Message(
                "infer.note.partial",
                layers=m.gpu_layers,
                total=m.total_layers,
                host_gib=f"{m.host_bytes / 2**30:.1f}",
                bandwidth=f"{s.host_bandwidth_gb_s:g}",
                given=Message(
                    "infer.note.host_given" if s.host_bandwidth_given else "infer.note.host_assumed"
                ),
            )
        )
    notes.append(
        Message(
            "infer.note.calibrated",
            context=f"{context:,}",
            eff=f"{speed.bandwidth_efficiency:.0%}",
            path=speed.prefill_path,
            pre=f"{speed.prefill_efficiency:.0%}",
        )
    )
    return notes


def llama_machine(
    spec: ModelSpec,
    s: EngineSettings,
    cards: list[Card],
    usables: list[int],
    reserve: int,
    seq: int,
    batch: int = 1,
    tokens: int | None = None,
) -> LlamaCard:
    """llama.cpp's layer split over ``cards`` (each with ``usables`` bytes, less ``reserve``
    on each): the plan's parts as :func:`llama_card` gives them for one card; ``memory`` and
    the breakdown are the first card's, ``offload.per_gpu`` every card's."""
    from gpuwise.infer.split import most_layers_split, split_memory, split_speed

    n_ctx = n_ctx_for(spec, s, cards[0], seq)
    if s.ollama and s.n_ctx is None:  # Ollama's tier counts the VRAM of every card
        n_ctx = ollama_n_ctx(sum(c.memory_gb for c in cards), spec)
    s = s.with_(n_ctx=n_ctx)
    available = [u - reserve for u in usables]
    if s.split_mode == "row":  # gpuwise.infer.row_split
        m, speed = _row_split(spec, s, cards, usables, available, n_ctx, min(seq, n_ctx))
    else:
        if s.gpu_layers is None:
            # the layers leave llama.cpp's fit margin on every card
            margin = fit_margin(s)
            m = most_layers_split(spec, s, cards, [a - margin for a in available], n_ctx)
            m = split_memory(spec, s, cards, available, n_ctx, m.gpu_layers)  # headroom as is
        else:
            m = split_memory(spec, s, cards, available, n_ctx, s.gpu_layers)
        speed = split_speed(spec, s, m, context=min(seq, n_ctx), prompt=min(seq, n_ctx))
    at = min(seq, n_ctx)
    first = m.shares[0]
    one = LlamaMemory(
        gpu_layers=m.gpu_layers,
        total_layers=m.total_layers,
        n_ctx=m.n_ctx,
        weights_gpu=first.weights,
        weights_host=m.weights_host,
        kv_gpu=first.kv,
        kv_host=m.kv_host,
        compute_gpu=first.compute,
        context=first.context,
    )
    notes = _notes(spec, s, cards[0], one, speed, batch)
    if s.split_mode == "row":
        from gpuwise.infer.row_split import sync_s

        gib = 1 << 30
        weights = ", ".join(f"{sh.weights / gib:.2f}" for sh in m.shares)
        notes.append(Message("infer.note.row_split", cards=len(cards), weights=weights))
        notes.append(Message("infer.note.row_sync", us=f"{sync_s() * 1e6:.0f}"))
    else:
        notes.append(Message("infer.note.split", cards=len(cards)))
    estimate = _estimate(s, first.weights, first.kv, first.compute, first.context, notes)
    time_notes: list[str] = []
    generate_s, energy = run_and_energy(
        cards[0], tokens, speed.decode_tokens_per_s, time_notes, cards=len(cards)
    )
    time = InferTime(
        prefill_tokens_per_s=speed.prefill_tokens_per_s,
        decode_tokens_per_s=speed.decode_tokens_per_s,
        decode_tokens_per_s_gpu_bound=speed.decode_tokens_per_s,
        energy_kwh=energy,
        bandwidth_efficiency=speed.bandwidth_efficiency,
        prefill_efficiency=speed.prefill_efficiency,
        decode_step_s=1 / speed.decode_tokens_per_s,
        decode_bound="memory",
        decode_bytes=speed.decode_gpu_bytes + speed.decode_host_bytes,
        time_to_generate_s=generate_s,
        flops_per_s=None,
        notes=tuple(_speed_notes(s, one, speed, at) + time_notes),
    )
    per_gpu = tuple(
        GpuShare(sh.card.name, sh.gpu_bytes, sh.usable_bytes, sh.layers, sh.output)
        for sh in m.shares
    )
    return LlamaCard(
        settings=s,
        memory=one,
        speed=speed,
        fits=m.fits and (s.gpu_layers is not None or m.gpu_layers == m.total_layers),
        headroom_bytes=min(sh.headroom for sh in m.shares),
        rank_memory=RankMemory(estimate, m.host_bytes, Parallel()),
        time=time,
        offload=Offload(m.gpu_layers, m.total_layers, m.host_bytes, m.n_ctx, per_gpu),
    )


def _row_split(
    spec: ModelSpec,
    s: EngineSettings,
    cards: list[Card],
    totals: list[int],
    available: list[int],
    n_ctx: int,
    at: int,
) -> tuple[Split, LlamaSpeed]:
    """llama.cpp's row split: every layer on the cards (llama.cpp's fit does not move weights
    in row mode), or the --gpu-layers asked; its speed."""
    from gpuwise.infer.row_split import row_split_memory, row_split_speed

    layers = spec.num_layers + 1 if s.gpu_layers is None else s.gpu_layers
    m = row_split_memory(spec, s, cards, totals, available, n_ctx, layers)
    return m, row_split_speed(spec, s, m, totals, context=at, prompt=at)


def _estimate(
    s: EngineSettings, weights: int, kv: int, compute: int, context: int, notes: list[Any]
) -> MemoryEstimate:
    """A card's memory as llama.cpp allocates it, in the plan's breakdown (the first card's,
    for a layer split). ``notes`` are Messages, rendered in the user's language when shown."""
    return MemoryEstimate(
        peak_allocated_bytes=weights + kv + compute,
        breakdown={
            "weights": weights,
            "gradients": 0,
            "optimizer": 0,
            "activations": compute,
            "kv_cache": kv,
            "temporaries": 0,
        },
        peak_phase="llama.cpp",
        context_bytes=context,
        allocator_bytes=0,
        terms_from=f"llama.cpp {s.weight_type}",
        notes=notes,
    )
