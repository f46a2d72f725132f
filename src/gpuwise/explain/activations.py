"""Step 3: activations. What the forward keeps for the backward (per layer and per token, the
fp32 logits of the loss), what the peak holds, and what gradient checkpointing changes; for
inference, the KV cache and the prefill's transient. Figures from the memory model's own terms
(:func:`gpuwise.memory.train.activation_terms`, :func:`gpuwise.memory.train.train_phases`) and
from plans of the same job (:func:`gpuwise.plan.fit.estimate_memory`)."""

from __future__ import annotations

from gpuwise.explain.step import Line, Step, line, n, per
from gpuwise.i18n import Message
from gpuwise.memory.rank import RankMemory
from gpuwise.memory.train import activation_terms, train_phases
from gpuwise.models.spec import ModelSpec
from gpuwise.plan.fit import estimate_memory
from gpuwise.timing.flops import train_flops_per_token
from gpuwise.units import DTYPE_BYTES
from gpuwise.workload import Workload

#: The phases of a step, as the memory model names them (``peak_phase``).
PHASES = {
    "forward": "explain.phase.forward",
    "backward": "explain.phase.backward",
    "backward_layers": "explain.phase.backward_layers",
    "backward_end": "explain.phase.backward_end",
    "optimizer": "explain.phase.optimizer",
    "prefill": "explain.phase.prefill",
}


def phase(name: str) -> Message:
    """A phase of the step, said (its name as it is when the memory model has a new one)."""
    key = PHASES.get(name)
    return Message(key) if key else Message("explain.phase.other", name=name)


def activation_step(spec: ModelSpec, w: Workload, memory: RankMemory) -> Step:
    if w.task == "infer":
        return _infer(spec, w, memory)
    stack, d = activation_terms(spec, w)
    tokens = w.tokens
    one_layer = stack.layers(d, 1)
    head = stack.sliding if stack.n_sliding and not stack.n_full else stack.full
    per_logit = head.forms.get("head", {}).get("T*V", 0.0)
    # --loss chunked / fused: no batch's worth of logits is kept (gpuwise/memory/tricks.py)
    logits = round(per_logit * d.value("T*V")) if w.loss == "full" else 0
    kept = train_phases(spec, w).phases["backward"]["activations"]
    b = memory.breakdown
    at_peak = b["activations"] + b["temporaries"]
    lines: list[Line] = [
        line(
            "one_layer",
            "explain.act.one_layer",
            one_layer,
            "bytes",
            Message(
                "explain.act.f.per_token",
                per=n(one_layer / tokens),
                tokens=n(tokens),
                batch=n(w.batch),
                seq=n(w.seq),
            ),
        ),
        line(
            "layers",
            "explain.act.layers",
            stack.layers(d),
            "bytes",
            Message("explain.act.f.layers", one=n(one_layer), layers=n(spec.num_layers)),
        ),
    ]
    if logits:
        lines.append(
            line(
                "logits",
                "explain.act.logits",
                logits,
                "bytes",
                Message(
                    "explain.act.f.logits",
                    per=f"{per_logit:.4f}".rstrip("0").rstrip("."),
                    batch=n(w.batch),
                    seq=n(w.seq),
                    vocab=n(spec.vocab_size),
                ),
            )
        )
    lines += [
        line("kept", "explain.act.kept", kept, "bytes", Message("explain.act.f.kept")),
        line(
            "at_peak",
            "explain.act.at_peak",
            at_peak,
            "bytes",
            Message(
                "explain.act.f.at_peak",
                phase=phase(memory.peak_phase),
                activations=n(b["activations"]),
                temporaries=n(b["temporaries"]),
            ),
        ),
    ]
    other = w.with_(grad_checkpointing=not w.grad_checkpointing)
    other_peak = estimate_memory(spec, other).peak_allocated_bytes
    ckpt = w if w.grad_checkpointing else other
    flops = train_flops_per_token(spec, ckpt)
    lines.append(
        line(
            "other_checkpointing",
            "explain.act.without_ckpt" if w.grad_checkpointing else "explain.act.with_ckpt",
            other_peak,
            "bytes",
            Message("explain.act.f.other_peak", now=n(memory.peak_allocated_bytes)),
        )
    )
    notes = [
        Message("explain.act.note.kept"),
        Message(
            "explain.act.note.ckpt_on" if w.grad_checkpointing else "explain.act.note.ckpt_off",
            factor=per(flops.total / flops.model),
        ),
    ]
    if logits:
        notes.insert(1, Message("explain.act.note.logits"))
    return Step(
        "activations",
        Message("explain.act.title"),
        Message("explain.act.idea"),
        tuple(lines),
        tuple(notes),
    )


def _infer(spec: ModelSpec, w: Workload, memory: RankMemory) -> Step:
    b = memory.breakdown
    size = DTYPE_BYTES[w.cache_dtype]
    if spec.attention == "mla":
        d_qk, d_v = spec.head_dims
        formula = Message(
            "explain.act.f.kv_mla",
            heads=n(spec.num_attention_heads),
            d_qk=n(d_qk),
            d_v=n(d_v),
            layers=n(spec.num_layers),
            batch=n(w.batch),
            seq=n(w.seq),
            bytes=n(size),
            dtype=w.cache_dtype,
        )
    else:
        formula = Message(
            "explain.act.f.kv",
            kv_heads=n(spec.num_kv_heads),
            head_dim=n(spec.head_dim),
            layers=n(spec.num_layers),
            batch=n(w.batch),
            seq=n(w.seq),
            bytes=n(size),
            dtype=w.cache_dtype,
        )
    lines = (
        line("kv_cache", "explain.act.kv_cache", b["kv_cache"], "bytes", formula),
        line(
            "at_peak",
            "explain.act.prefill_peak",
            b["activations"],
            "bytes",
            Message("explain.act.f.prefill_peak"),
        ),
    )
    return Step(
        "activations",
        Message("explain.act.title_infer"),
        Message("explain.act.idea_infer"),
        lines,
        (Message("explain.act.note.kv"), Message("explain.act.note.last_logits")),
    )
