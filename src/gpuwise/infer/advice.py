"""When a GGUF model does not fit a card under llama.cpp: the changes that make it fit, each with
the memory the card then needs and the speed it gives.

Each change is tried alone from the user's settings, as llama.cpp would run it
(:func:`gpuwise.infer.card.llama_card`, the plan's own figures):

- a smaller GGUF type: the largest (most bits) that puts every layer on the card;
- a quantized KV cache: q8_0, else q4_0 (with flash attention, which llama.cpp needs for a
  quantized V cache);
- a shorter context: the longest, in llama.cpp's 256-cell steps, that holds every layer;
- fewer GPU layers: the most that fit, the others in host RAM (the RAM they take, the decode
  speed they give: host memory bandwidth decides it);
- more of the same card, the layers split over them (``--gpus N``): the fewest that hold every
  layer.
"""

from __future__ import annotations

from gpuwise.catalog import Card
from gpuwise.i18n import Message
from gpuwise.infer.card import LlamaCard, fit_margin, llama_card, llama_machine
from gpuwise.infer.engine import EngineSettings
from gpuwise.infer.memory import llama_memory, weight_split
from gpuwise.infer.trials import first_fit
from gpuwise.models.spec import ModelSpec
from gpuwise.models.weight_types import GGUF_TYPES
from gpuwise.record import record

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Callable, Iterator
    from typing import Any

    from gpuwise.i18n import Text

    Trial = tuple[Text, EngineSettings, int, Text | None]

#: llama.cpp allocates the context in cells of 256 (data/llamacpp.json, n_ctx_pad).
CTX_STEP = 256
#: GGUF types the advice never offers: not smaller than 16 bits, or too lossy to recommend.
_NOT_OFFERED = ("f32", "f16", "bf16", "iq1_s", "iq1_m")


@record
class LlamaChange:
    """One change, the plan llama.cpp runs with it on ``cards`` of the card, whether every layer
    then fits, and its decode speed relative to the plan as asked."""

    what: Text
    settings: EngineSettings
    cards: int
    plan: LlamaCard
    fits: bool
    speed: float | None
    caveat: Text | None = None


@record
class LlamaAdvice:
    """What to change so the model fits ``card``: with every layer on it, the card needs
    ``required_bytes`` of its ``usable_bytes`` (less --reserve); the changes that fit alone and
    those that are not enough."""

    card: Card
    why: Text
    required_bytes: int
    usable_bytes: int
    fits_alone: tuple[LlamaChange, ...] = ()
    not_enough: tuple[LlamaChange, ...] = ()

    @property
    def engine(self) -> str:
        return "llama.cpp"

    @property
    def fits_as_asked(self) -> bool:
        return self.required_bytes <= self.usable_bytes


def _all_layers(spec: ModelSpec, s: EngineSettings, n_ctx: int) -> int:
    """The bytes the card needs with every layer on it."""
    return llama_memory(spec, s, n_ctx, spec.num_layers + 1).gpu_bytes


def llama_advice(
    spec: ModelSpec,
    s: EngineSettings,
    card: Card,
    usable: int,
    reserve: int,
    seq: int,
    why: Text,
    max_cards: int = 8,
) -> LlamaAdvice:
    """The changes that make ``spec`` fit ``card`` (``usable`` bytes, less ``reserve``) at the
    ``seq``-token context, each alone."""
    now = llama_card(spec, s, card, usable, reserve, seq)
    s = now.settings  # with the context llama.cpp is started with
    n_ctx = now.offload.n_ctx
    base = now.time.decode_tokens_per_s

    def trial(
        what: Text, s2: EngineSettings, cards: int = 1, caveat: Text | None = None
    ) -> LlamaChange:
        ctx = s2.n_ctx or seq
        if cards == 1:
            lc = llama_card(spec, s2, card, usable, reserve, ctx)
        else:
            lc = llama_machine(spec, s2, [card] * cards, [usable] * cards, reserve, ctx)
        speed = lc.time.decode_tokens_per_s / base if base else None
        return LlamaChange(what, s2, cards, lc, lc.fits, speed, caveat)

    tried = [
        first_fit(trial(*t) for t in _weights(spec, s)),
        first_fit(trial(*t) for t in _kv(s)),
        first_fit(trial(*t) for t in _context(spec, s, usable - reserve, n_ctx)),
    ]
    if now.offload.gpu_layers > 0 and s.gpu_layers is None:
        layers = now.offload.gpu_layers
        host = Message("infer.advice.host_ram", gib=f"{now.offload.host_bytes / 2**30:.1f}")
        what = Message("infer.advice.gpu_layers", layers=layers, total=now.offload.total_layers)
        tried.append(trial(what, s.with_(gpu_layers=layers), 1, host))
    tried.append(
        first_fit(
            trial(Message("infer.advice.cards", count=n), s, n) for n in range(2, max_cards + 1)
        )
    )
    changes = [c for c in tried if c is not None]
    return LlamaAdvice(
        card,
        why,
        _all_layers(spec, s, n_ctx),
        usable - reserve,
        tuple(c for c in changes if c.fits),
        tuple(c for c in changes if not c.fits),
    )


def _weights(spec: ModelSpec, s: EngineSettings) -> Iterator[Trial]:
    """Smaller GGUF types than the one asked for, the largest first."""
    now = _total(spec, s.weight_type)
    smaller = sorted(
        (t for t in GGUF_TYPES if t not in _NOT_OFFERED and _total(spec, t) < now),
        key=lambda t: -_total(spec, t),
    )
    for t in smaller:
        what = Message("infer.advice.weights", weights=t.upper(), asked=s.weight_type.upper())
        yield what, s.with_(weight_type=t), 1, None


def _total(spec: ModelSpec, weight_type: str) -> int:
    w = weight_split(spec, weight_type)
    return sum(w.layers) + w.output + w.token_embd


def _kv(s: EngineSettings) -> Iterator[Trial]:
    """A q8_0 KV cache, then q4_0 (flash attention on with either, as llama.cpp needs)."""
    caveat = None if s.flash_attn else Message("infer.advice.needs_fa")
    for kv in ("q8_0", "q4_0"):
        if kv != s.kv_type and not (kv == "q8_0" and s.kv_type == "q4_0"):
            what = Message("infer.advice.kv", kv=kv, asked=s.kv_type)
            yield what, s.with_(kv_type=kv, flash_attn=True), 1, caveat


def _context(spec: ModelSpec, s: EngineSettings, available: int, n_ctx: int) -> Iterator[Trial]:
    """The longest context below ``n_ctx``, in 256-cell steps, that holds every layer."""
    room = available - fit_margin(s)
    layers = spec.num_layers + 1 if s.gpu_layers is None else s.gpu_layers
    split = weight_split(spec, s.weight_type)

    def fits(k: int) -> bool:
        return llama_memory(spec, s, k * CTX_STEP, layers, split).gpu_bytes <= room

    k = _largest(fits, (n_ctx - 1) // CTX_STEP)
    if k is not None:
        n = k * CTX_STEP
        what = Message("infer.advice.context", n_ctx=f"{n:,}", asked=f"{n_ctx:,}")
        yield what, s.with_(n_ctx=n), 1, Message("infer.advice.shorter")


def _largest(ok: Callable[[int], bool], hi: int) -> int | None:
    """The largest ``k`` in 1..``hi`` with ``ok(k)`` (true up to some point, false after it), or
    None when ``ok(1)`` is false."""
    if hi < 1 or not ok(1):
        return None
    lo = 1
    while lo < hi:
        mid = (lo + hi + 1) // 2
        if ok(mid):
            lo = mid
        else:
            hi = mid - 1
    return lo


def advice_dict(a: LlamaAdvice) -> dict[str, Any]:
    """``advice`` of plan / recommend --json for llama.cpp: the keys of training's advice, and
    each change's settings, layers, host RAM, decode and prefill speed."""
    return {
        "engine": "llama.cpp",
        "card": a.card.name,
        "slug": a.card.slug,
        "why": a.why,
        "fits_as_asked": a.fits_as_asked,
        "required_bytes": a.required_bytes,
        "usable_bytes": a.usable_bytes,
        "fits_alone": [_change(c) for c in a.fits_alone],
        "not_enough": [_change(c) for c in a.not_enough],
        "stacked": None,
    }


def _change(c: LlamaChange) -> dict[str, Any]:
    lc, off = c.plan, c.plan.offload
    per_gpu = [g.memory_bytes for g in off.per_gpu] or [lc.memory.gpu_bytes]
    return {
        "change": c.what,
        "fits": c.fits,
        "required_per_gpu_bytes": max(per_gpu),
        "tokens_per_s": lc.time.decode_tokens_per_s,
        "speed_vs_now": c.speed,
        "caveat": c.caveat,
        "gpus": c.cards,
        "weight_type": c.settings.weight_type,
        "kv_type": c.settings.kv_type,
        "flash_attn": c.settings.flash_attn,
        "n_ctx": off.n_ctx,
        "gpu_layers": off.gpu_layers,
        "total_layers": off.total_layers,
        "host_bytes": off.host_bytes,
        "decode_tokens_per_s": lc.time.decode_tokens_per_s,
        "prefill_tokens_per_s": lc.time.prefill_tokens_per_s,
    }
