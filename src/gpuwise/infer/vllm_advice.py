"""When vLLM cannot serve a model on a card (or serves fewer sequences than asked): the changes
that make it fit, each tried alone from the user's settings with the plan's own figures
(:func:`gpuwise.infer.vllm_card.vllm_card`):

- an fp8 KV cache (``--kv-dtype fp8``): half the bytes a token;
- quantized weights: an FP8, AWQ or GPTQ checkpoint (the first the card runs that fits);
- a shorter ``--max-model-len`` (``--seq``): the longest the KV cache then holds;
- more of the same card, tensor parallel (``--gpus N``): the fewest that fit, where N divides
  the heads as vLLM needs;
- a higher ``--gpu-memory-utilization``: the least, up to 0.95, that fits.
"""

from __future__ import annotations

from gpuwise.catalog import Card
from gpuwise.i18n import Message
from gpuwise.infer.trials import first_fit
from gpuwise.infer.vllm import VllmSettings, rules, tensor_parallel_ok
from gpuwise.infer.vllm_card import VllmCard, card_problems, vllm_card
from gpuwise.models.spec import ModelSpec
from gpuwise.record import record, replace

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

    from gpuwise.i18n import Text

#: Quantized checkpoints the advice offers, the closest to 16 bits first.
QUANTIZED = ("fp8", "awq", "gptq")
#: The highest --gpu-memory-utilization the advice offers (vLLM's later default is 0.92; above
#: 0.95 CUDA graphs and other processes have little room left).
MOST_UTILIZATION = 0.95


@record
class VllmChange:
    """One change, the settings and ``--seq`` it runs with, its plan, and whether it fits."""

    what: Text
    settings: VllmSettings
    seq: int
    plan: VllmCard
    fits: bool
    caveat: Text | None = None


@record
class VllmAdvice:
    """What to change so vLLM serves the model on ``card``: as asked it holds
    ``kv_cache_tokens`` tokens of KV cache, ``max_concurrent_seqs`` sequences of ``seq``
    tokens (``concurrency`` asked); the changes that fit alone and those that are not enough."""

    card: Card
    why: Text
    seq: int
    concurrency: int | None
    now: VllmCard
    fits_alone: tuple[VllmChange, ...] = ()
    not_enough: tuple[VllmChange, ...] = ()

    @property
    def engine(self) -> str:
        return "vllm"

    @property
    def fits_as_asked(self) -> bool:
        return serves(self.now, self.concurrency)


def serves(vc: VllmCard, concurrency: int | None) -> bool:
    """Whether a plan serves the load asked: one sequence of ``--seq`` tokens fits (and the
    card runs the engine and the weights), and ``concurrency`` sequences at once when asked."""
    if not vc.fits:
        return False
    return concurrency is None or vc.serving.max_concurrent_seqs >= concurrency


def vllm_advice(
    spec: ModelSpec,
    s: VllmSettings,
    card: Card,
    usable: int,
    reserve: int,
    seq: int,
    why: Text,
    max_cards: int = 8,
) -> VllmAdvice:
    """The changes that let vLLM serve ``spec`` on ``card`` (``usable`` bytes of torch's total
    memory, ``reserve`` kept for other processes) at ``seq`` tokens a sequence, each alone."""
    load = s.concurrency

    def trial(what: Text, s2: VllmSettings, seq2: int = seq, caveat: Text | None = None) -> Any:
        vc = vllm_card(spec, s2, card, usable, reserve, seq2)
        return VllmChange(what, s2, seq2, vc, serves(vc, load), caveat)

    now = vllm_card(spec, s, card, usable, reserve, seq)
    tried: list[VllmChange | None] = []
    if s.kv_type != "fp8":
        tried.append(trial(Message("vllm_rec.advice.kv_fp8"), replace(s, kv_type="fp8")))
    tried.append(
        first_fit(
            trial(
                Message("vllm_rec.advice.weights", weights=w.upper(), asked=s.weight_type),
                replace(s, weight_type=w, weight_type_given=True),
            )
            for w in QUANTIZED
            if w != s.weight_type and not card_problems(card, replace(s, weight_type=w))
        )
    )
    block = int(rules()["block_size"]["value"])
    if not now.problems and not serves(now, load):
        shorter = (now.serving.kv_cache_tokens // (load or 1)) // block * block
        if block <= shorter < seq:
            tried.append(
                trial(
                    Message("vllm_rec.advice.seq", seq=f"{shorter:,}", asked=f"{seq:,}"),
                    s,
                    shorter,
                    Message("vllm_rec.advice.shorter"),
                )
            )
    tried.append(
        first_fit(
            trial(Message("vllm_rec.advice.cards", count=n), replace(s, tensor_parallel=n))
            for n in range(s.tensor_parallel + 1, max_cards + 1)
            if tensor_parallel_ok(spec, n)
        )
    )
    steps = range(round(s.gpu_memory_utilization * 100) + 1, round(MOST_UTILIZATION * 100) + 1)
    tried.append(
        first_fit(
            trial(
                Message("vllm_rec.advice.utilization", util=f"{u / 100:g}"),
                replace(s, gpu_memory_utilization=u / 100),
                seq,
                Message("vllm_rec.advice.less_free"),
            )
            for u in steps
        )
    )
    changes = [c for c in tried if c is not None]
    return VllmAdvice(
        card,
        why,
        seq,
        load,
        now,
        tuple(c for c in changes if c.fits),
        tuple(c for c in changes if not c.fits),
    )


def advice_dict(a: VllmAdvice) -> dict[str, Any]:
    """``advice`` of ``recommend --task infer --engine vllm --json``: the keys every advice has
    (``required_bytes``: the least vLLM needs, weights + activation peak + memory outside torch +
    one sequence's KV cache; ``usable_bytes``: vLLM's share of the card) and, as asked and for
    each change, the serving figures."""
    sv = a.now.serving
    return {
        "engine": "vllm",
        "card": a.card.name,
        "slug": a.card.slug,
        "why": a.why,
        "fits_as_asked": a.fits_as_asked,
        "required_bytes": sv.budget_bytes - a.now.headroom_bytes,
        "usable_bytes": sv.budget_bytes,
        "seq": a.seq,
        "concurrency": a.concurrency,
        "kv_cache_tokens": sv.kv_cache_tokens,
        "max_concurrent_seqs": sv.max_concurrent_seqs,
        "problems": list(a.now.problems),
        "fits_alone": [_change(c) for c in a.fits_alone],
        "not_enough": [_change(c) for c in a.not_enough],
        "stacked": None,
    }


def _change(c: VllmChange) -> dict[str, Any]:
    sv, s = c.plan.serving, c.settings
    return {
        "change": c.what,
        "fits": c.fits,
        "caveat": c.caveat,
        "gpus": s.tensor_parallel,
        "weight_type": s.weight_type,
        "kv_type": s.kv_type,
        "gpu_memory_utilization": s.gpu_memory_utilization,
        "seq": c.seq,
        "kv_cache_tokens": sv.kv_cache_tokens,
        "max_concurrent_seqs": sv.max_concurrent_seqs,
        "throughput_tokens_per_s": sv.throughput_tokens_per_s,
        "decode_tokens_per_s": c.plan.time.decode_tokens_per_s,
    }
