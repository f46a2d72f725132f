"""When a job does not fit a card: the smallest changes that make it fit, with their cost.

Each change is tried alone from the user's workload: gradient checkpointing, a smaller
micro-batch with gradient accumulation (same global batch), an 8-bit optimizer, LoRA, QLoRA, a
shorter context, offload to host RAM, more cards. Each reports the memory a card then needs,
whether it fits and the throughput relative to the original plan (recompute, smaller matmuls,
collectives and CPU optimizer steps all cost time). When no single change is enough, changes are
stacked, cheapest in speed first, until the job fits.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass

from gpuwise.catalog import Card, usable_memory
from gpuwise.errors import GpuwiseError
from gpuwise.memory.parallel import per_rank_memory
from gpuwise.models.spec import ModelSpec
from gpuwise.parallel import MAX_GPUS, Parallel
from gpuwise.plan import problems
from gpuwise.timing.parallel import parallel_train_time
from gpuwise.workload import Workload

#: Shortest context the advice suggests (below it the job is a different job).
MIN_SEQ = 256


@dataclass(frozen=True)
class Change:
    """One change (or a stack of them) and its effect."""

    what: str
    workload: Workload
    parallel: Parallel
    required_bytes: int
    fits: bool
    tokens_per_s: float | None
    speed: float | None  # tokens/s relative to the unchanged job (None when unknown)
    caveat: str | None = None


def _try(
    spec: ModelSpec,
    w: Workload,
    p: Parallel,
    card: Card,
    usable: int,
    what: str,
    base_tps: float | None,
    caveat: str | None = None,
    host_ram: int | None = None,
) -> Change | None:
    if problems(w, card):
        return None
    try:
        m = per_rank_memory(spec, w, p)
    except GpuwiseError:
        return None
    if host_ram is not None and m.host_bytes > host_ram:
        return None  # offload would need more host RAM than the machine has
    t = parallel_train_time(spec, w, card, p)
    tps = t.train_tokens_per_s
    speed = tps / base_tps if tps and base_tps else None
    return Change(what, w, p, m.required_bytes, m.required_bytes <= usable, tps, speed, caveat)


def _largest(lo: int, hi: int, ok: Callable[[int], bool]) -> int | None:
    """Largest n in [lo, hi] with ok(n), for ok monotone decreasing; None if none."""
    if not ok(lo):
        return None
    while hi > lo:
        mid = (lo + hi + 1) // 2
        if ok(mid):
            lo = mid
        else:
            hi = mid - 1
    return lo


def single_changes(
    spec: ModelSpec,
    w: Workload,
    p: Parallel,
    card: Card,
    reserve: int = 0,
    host_ram: int | None = None,
) -> list[Change]:
    """Each change alone, least change to the job first: how it runs (checkpointing,
    accumulation, optimizer, offload, more cards), then what it trains (LoRA, QLoRA), then the
    data it sees (context)."""
    usable = usable_memory(card).bytes - reserve
    base = parallel_train_time(spec, w, card, p).train_tokens_per_s
    out: list[Change | None] = []

    def add(w2: Workload, p2: Parallel, what: str, caveat: str | None = None) -> None:
        out.append(_try(spec, w2, p2, card, usable, what, base, caveat, host_ram))

    if not w.grad_checkpointing:
        add(w.with_(grad_checkpointing=True), p, "gradient checkpointing")
    if w.batch > 1:

        def fits_batch(b: int) -> bool:
            return per_rank_memory(spec, w.with_(batch=b), p).required_bytes <= usable

        b = _largest(1, w.batch - 1, fits_batch) or 1
        accum = math.ceil(w.batch / b) * p.grad_accum
        add(
            w.with_(batch=b),
            Parallel(p.strategy, p.gpus, p.shard_size, accum),
            f"micro-batch {b} with gradient accumulation x{accum} (global batch kept)",
        )
    if w.method == "full" and w.optimizer in ("adamw", "adamw-fused") and p.engine == "torch":
        add(w.with_(optimizer="adamw-8bit"), p, "8-bit AdamW (bitsandbytes)")
    if not p.offloads("optimizer") and w.optimizer in ("adamw", "adamw-fused"):
        for strategy in ("zero2-offload", "zero3-offload"):
            q = Parallel(strategy, p.gpus, None, p.grad_accum)
            m = per_rank_memory(spec, w, q) if w.method != "qlora" else None
            if m is not None:
                ram = f"needs {m.host_bytes / (1 << 30):.0f} GiB of host RAM"
                add(w, q, f"{strategy} on {p.gpus} card(s)", ram)
    for n in range(p.gpus + 1, MAX_GPUS + 1):
        found = None
        for strategy in ("fsdp", "zero3"):
            q = Parallel(strategy, n, None, p.grad_accum)
            c = _try(spec, w, q, card, usable, "", base, None, host_ram)
            if (
                c
                and c.fits
                and (found is None or (c.tokens_per_s or 0) > (found.tokens_per_s or 0))
            ):
                found = c
        if found is not None:
            out.append(
                Change(
                    f"{n} cards with {found.parallel.strategy}",
                    found.workload,
                    found.parallel,
                    found.required_bytes,
                    True,
                    found.tokens_per_s,
                    found.speed,
                    None,
                )
            )
            break
    if w.method == "full":
        add(
            w.with_(method="lora"),
            p,
            "LoRA (rank 16, all linear layers)",
            "trains adapters, not the whole model",
        )
    if w.method in ("full", "lora") and p.engine == "torch":
        precision = "bf16" if card.has("bf16") else "fp16"
        add(
            w.with_(method="qlora", precision=precision, optimizer="adamw"),
            p,
            "QLoRA (4-bit base weights, LoRA rank 16)",
            "trains adapters on a 4-bit base model",
        )
    if w.seq > MIN_SEQ:

        def fits_seq(s: int) -> bool:
            return per_rank_memory(spec, w.with_(seq=s), p).required_bytes <= usable

        s = _largest(MIN_SEQ, w.seq - 1, fits_seq)
        if s is not None:
            add(w.with_(seq=s), p, f"context {s} tokens instead of {w.seq}", "shorter sequences")
    return [c for c in out if c is not None]


Step = Callable[[Workload, Parallel], "tuple[Workload, Parallel] | None"]


def _stack_steps(card: Card, base: Parallel) -> list[tuple[str, Step]]:
    """The changes stacked when none is enough alone, least change to the job first."""
    fp = "bf16" if card.has("bf16") else "fp16"

    def ckpt(w: Workload, p: Parallel) -> tuple[Workload, Parallel] | None:
        return None if w.grad_checkpointing else (w.with_(grad_checkpointing=True), p)

    def micro(w: Workload, p: Parallel) -> tuple[Workload, Parallel] | None:
        if w.batch == 1:
            return None
        return w.with_(batch=1), Parallel(p.strategy, p.gpus, p.shard_size, p.grad_accum * w.batch)

    def eight_bit(w: Workload, p: Parallel) -> tuple[Workload, Parallel] | None:
        ok = w.method == "full" and w.optimizer in ("adamw", "adamw-fused") and p.engine == "torch"
        return (w.with_(optimizer="adamw-8bit"), p) if ok else None

    def lora(w: Workload, p: Parallel) -> tuple[Workload, Parallel] | None:
        return (w.with_(method="lora", optimizer="adamw"), p) if w.method == "full" else None

    def qlora(w: Workload, p: Parallel) -> tuple[Workload, Parallel] | None:
        if w.method != "lora":
            return None
        # 4-bit weights are not offloaded: back to the strategy asked for, if offload was on
        q = base if p.offloads("optimizer") else p
        return w.with_(method="qlora", precision=fp), q

    def offload(w: Workload, p: Parallel) -> tuple[Workload, Parallel] | None:
        if p.offloads("optimizer") or w.method == "qlora" or not w.optimizer.startswith("adamw"):
            return None  # DeepSpeed's CPU Adam replaces an 8-bit optimizer
        return w.with_(optimizer="adamw"), Parallel("zero3-offload", p.gpus, None, p.grad_accum)

    return [
        ("gradient checkpointing", ckpt),
        ("micro-batch 1 with gradient accumulation", micro),
        ("8-bit AdamW", eight_bit),
        ("zero3-offload", offload),
        ("LoRA", lora),
        ("QLoRA", qlora),
    ]


def _replay(
    steps: list[tuple[str, Step]], w: Workload, p: Parallel
) -> tuple[list[str], Workload, Parallel]:
    """Apply ``steps`` in order; the labels of those that changed something."""
    done: list[str] = []
    for what, step in steps:
        nxt = step(w, p)
        if nxt is not None:
            w, p = nxt
            done = [d for d in done if not _undone_by(what, d)] + [what]
    return done, w, p


#: (later change, earlier change it undoes): LoRA trains adapters with plain AdamW, offload
#: steps DeepSpeed's CPU Adam, QLoRA is LoRA on a 4-bit base that is not offloaded.
UNDOES = {
    ("LoRA", "8-bit AdamW"),
    ("zero3-offload", "8-bit AdamW"),
    ("QLoRA", "LoRA"),
    ("QLoRA", "zero3-offload"),
}


def _undone_by(later: str, earlier: str) -> bool:
    return (later, earlier) in UNDOES


def stacked(
    spec: ModelSpec,
    w: Workload,
    p: Parallel,
    card: Card,
    reserve: int = 0,
    host_ram: int | None = None,
) -> Change | None:
    """Changes applied one after another until the job fits, then pruned to those it needs;
    a shorter context comes last, only if nothing else is enough. None if even that fails."""
    usable = usable_memory(card).bytes - reserve
    base = parallel_train_time(spec, w, card, p).train_tokens_per_s

    def attempt(steps: list[tuple[str, Step]], seq: int | None = None) -> Change | None:
        labels, w2, p2 = _replay(steps, w, p)
        if seq is not None:
            w2 = w2.with_(seq=seq)
            labels = [*labels, f"context {seq} tokens instead of {w.seq}"]
        return _try(spec, w2, p2, card, usable, " + ".join(labels), base, None, host_ram)

    chosen: list[tuple[str, Step]] = []
    found = None
    for step in _stack_steps(card, p):
        chosen.append(step)
        got = attempt(chosen)
        if got is not None and got.fits:
            found = got
            break
    if found is not None:
        for step in list(chosen):  # drop what the fit does not need
            rest = [s for s in chosen if s is not step]
            got = attempt(rest)
            if got is not None and got.fits:
                chosen, found = rest, got
        return found
    _, w2, p2 = _replay(chosen, w, p)
    if w2.seq <= MIN_SEQ:
        return None

    def fits_seq(n: int) -> bool:
        m = per_rank_memory(spec, w2.with_(seq=n), p2)
        return m.required_bytes <= usable and (host_ram is None or m.host_bytes <= host_ram)

    n = _largest(MIN_SEQ, w2.seq - 1, fits_seq)
    if n is None:
        return None
    for step in list(chosen):  # the longest context needs every change: drop what does not help
        rest = [s for s in chosen if s is not step]
        got = attempt(rest, n)
        if got is not None and got.fits:
            chosen = rest
    return attempt(chosen, n)


@dataclass(frozen=True)
class Advice:
    """What to change so a job fits ``card``: the job as asked needs ``required_bytes`` of the
    card's ``usable_bytes``; the changes that fit alone, those that do not, and a stack of
    changes when no single one is enough (empty when the job fits as asked)."""

    card: Card
    why: str
    required_bytes: int
    usable_bytes: int
    fits_alone: tuple[Change, ...] = ()
    not_enough: tuple[Change, ...] = ()
    stacked: Change | None = None

    @property
    def fits_as_asked(self) -> bool:
        return self.required_bytes <= self.usable_bytes


def advise(
    spec: ModelSpec,
    w: Workload,
    card: Card,
    why: str,
    reserve: int = 0,
    host_ram: int | None = None,
    grad_accum: int = 1,
) -> Advice:
    """The job on one ``card``: whether it fits, else the changes that make it fit alone
    (least change to the job first) and the stacked change when none does."""
    p = Parallel("single", 1, None, grad_accum)
    need = per_rank_memory(spec, w, p).required_bytes
    usable = usable_memory(card).bytes - reserve
    if need <= usable:
        return Advice(card, why, need, usable)
    changes = single_changes(spec, w, p, card, reserve, host_ram)
    fitting = tuple(c for c in changes if c.fits)
    others = tuple(c for c in changes if not c.fits)
    combo = None if fitting else stacked(spec, w, p, card, reserve, host_ram)
    return Advice(card, why, need, usable, fitting, others, combo)
