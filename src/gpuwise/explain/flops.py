"""Step 5: FLOPs and time. The 6·N·D rule of thumb (2·N per generated token for inference)
beside the FLOPs gpuwise counts (:mod:`gpuwise.timing.flops`), the card's dense rate, the
efficiency assumed and the time, all as the plan has them (:mod:`gpuwise.timing.estimate`)."""

from __future__ import annotations

from gpuwise.catalog.card import Card
from gpuwise.explain.step import Line, Step, line, n, per, sci
from gpuwise.i18n import Message
from gpuwise.models.spec import ModelSpec
from gpuwise.timing.estimate import InferTime, TrainTime, trainable_params
from gpuwise.timing.flops import (
    decode_flops,
    forward_flops,
    prefill_flops,
    train_flops_per_token,
)
from gpuwise.workload import Workload

TERA = 1e12

#: What sets a decode step's time.
BOUNDS = {
    "memory": "explain.flops.bound.memory",
    "compute": "explain.flops.bound.compute",
    "overhead": "explain.flops.bound.overhead",
}


def flops_step(
    spec: ModelSpec, w: Workload, card: Card | None, time: object, tokens: int | None
) -> Step:
    if w.task == "infer":
        return _infer(spec, w, card, time if isinstance(time, InferTime) else None, tokens)
    return _train(spec, w, card, time if isinstance(time, TrainTime) else None, tokens)


def _rate_lines(card: Card, w: Workload, flops_per_s: float | None) -> list[Line]:
    tflops = "—" if flops_per_s is None else per(flops_per_s / TERA)
    return [
        line(
            "rate",
            "explain.flops.rate",
            flops_per_s,
            "flop_s",
            Message("explain.flops.f.rate", tflops=tflops, dtype=w.compute_dtype),
            card=card.name,
        )
    ]


def _train(
    spec: ModelSpec, w: Workload, card: Card | None, t: TrainTime | None, tokens: int | None
) -> Step:
    flops = t.flops if t is not None else train_flops_per_token(spec, w)
    fwd = forward_flops(spec, w.seq, spec.train_blocks)
    weights = (fwd.matmul + fwd.head) / 2
    active = spec.active_params if spec.is_moe else spec.trained_params
    if w.is_lora:
        adapters = trainable_params(spec, w)
        rule = line(
            "rule",
            "explain.flops.rule_lora",
            4 * active + 6 * adapters,
            "flops",
            Message("explain.flops.f.rule_lora", params=n(active), adapters=n(adapters)),
        )
    else:
        rule = line(
            "rule",
            "explain.flops.rule",
            6 * active,
            "flops",
            Message("explain.flops.f.rule", params=n(active)),
        )
    d_qk, d_v = spec.head_dims
    lines: list[Line] = [
        rule,
        line(
            "matmul",
            "explain.flops.matmul",
            flops.matmul,
            "flops",
            Message(
                "explain.flops.f.matmul_lora" if w.is_lora else "explain.flops.f.matmul",
                weights=n(weights),
            ),
        ),
        line(
            "attention",
            "explain.flops.attention",
            flops.attention,
            "flops",
            Message(
                "explain.flops.f.attention",
                seq=n(w.seq),
                heads=n(spec.num_attention_heads),
                d_qk=n(d_qk),
                d_v=n(d_v),
                layers=n(spec.num_layers),
            ),
        ),
    ]
    if flops.adapters:
        lines.append(
            line(
                "adapters",
                "explain.flops.adapters",
                flops.adapters,
                "flops",
                Message("explain.flops.f.adapters", adapters=n(trainable_params(spec, w))),
            )
        )
    if flops.recompute:
        lines.append(
            line(
                "recompute",
                "explain.flops.recompute",
                flops.recompute,
                "flops",
                Message("explain.flops.f.recompute"),
            )
        )
    lines += [
        line(
            "per_token",
            "explain.flops.per_token",
            flops.total,
            "flops",
            Message("explain.flops.f.sum"),
        ),
        line(
            "per_step",
            "explain.flops.per_step",
            flops.total * w.tokens,
            "flops",
            Message(
                "explain.flops.f.per_step",
                per_token=sci(flops.total),
                tokens=n(w.tokens),
                batch=n(w.batch),
                seq=n(w.seq),
            ),
        ),
    ]
    if tokens is not None:
        lines.append(
            line(
                "run",
                "explain.flops.run",
                flops.total * tokens,
                "flops",
                Message("explain.flops.f.run", per_token=sci(flops.total), tokens=n(tokens)),
            )
        )
    notes = [Message("explain.flops.note.rule")]
    if card is None or t is None:
        notes.append(Message("explain.flops.note.no_card"))
        return _step(lines, notes, train=True)
    lines += _rate_lines(card, w, t.flops_per_s)
    lines.append(
        line("mfu", "explain.flops.mfu", t.mfu, "fraction", Message("explain.flops.f.mfu"))
    )
    if t.compute_s is not None and t.flops_per_s is not None:
        lines.append(
            line(
                "compute_s",
                "explain.flops.compute_s",
                t.compute_s,
                "s",
                Message(
                    "explain.flops.f.compute_s",
                    flops=sci(flops.total * w.tokens),
                    tflops=per(t.flops_per_s / TERA),
                    mfu=per(100 * t.mfu),
                ),
            )
        )
    lines.append(
        line(
            "optimizer_s",
            "explain.flops.optimizer_s",
            t.optimizer_s,
            "s",
            Message("explain.flops.f.optimizer_s", bandwidth=per(card.bandwidth_gb_s)),
        )
    )
    if t.step_s is not None and t.train_tokens_per_s is not None:
        lines += [
            line(
                "step_s", "explain.flops.step_s", t.step_s, "s", Message("explain.flops.f.step_s")
            ),
            line(
                "tokens_per_s",
                "explain.flops.tokens_per_s",
                t.train_tokens_per_s,
                "tokens_s",
                Message("explain.flops.f.tokens_per_s", tokens=n(w.tokens)),
            ),
        ]
    else:
        notes.append(Message("explain.flops.note.no_rate", card=card.name))
    if t.time_to_train_s is not None and tokens is not None:
        lines.append(
            line(
                "time_to_train_s",
                "explain.flops.time_to_train",
                t.time_to_train_s,
                "s",
                Message("explain.flops.f.time", tokens=n(tokens)),
            )
        )
    if t.energy_kwh is not None:
        lines.append(
            line(
                "energy_kwh",
                "explain.flops.energy",
                t.energy_kwh,
                "kwh",
                Message("explain.flops.f.energy", tdp=per(card.tdp_w)),
            )
        )
    return _step(lines, notes, train=True)


def _infer(
    spec: ModelSpec, w: Workload, card: Card | None, t: InferTime | None, tokens: int | None
) -> Step:
    active = spec.active_params
    lines: list[Line] = [
        line(
            "rule",
            "explain.flops.rule_infer",
            2 * active,
            "flops",
            Message("explain.flops.f.rule_infer", params=n(active)),
        ),
        line(
            "decode_flops",
            "explain.flops.decode",
            decode_flops(spec, w.seq),
            "flops",
            Message("explain.flops.f.decode", seq=n(w.seq)),
        ),
        line(
            "prefill_flops",
            "explain.flops.prefill",
            prefill_flops(spec, w.seq),
            "flops",
            Message("explain.flops.f.prefill", seq=n(w.seq)),
        ),
    ]
    notes = [Message("explain.flops.note.infer")]
    if card is None or t is None:
        notes.append(Message("explain.flops.note.no_card"))
        return _step(lines, notes, train=False)
    lines += _rate_lines(card, w, t.flops_per_s)
    lines.append(
        line(
            "prefill_efficiency",
            "explain.flops.prefill_efficiency",
            t.prefill_efficiency,
            "fraction",
            Message("explain.flops.f.mfu"),
        )
    )
    if t.prefill_tokens_per_s is not None:
        lines.append(
            line(
                "prefill_tokens_per_s",
                "explain.flops.prefill_speed",
                t.prefill_tokens_per_s,
                "tokens_s",
                Message("explain.flops.f.prefill_speed"),
            )
        )
    lines += [
        line(
            "decode_bytes",
            "explain.flops.decode_bytes",
            t.decode_bytes,
            "bytes",
            Message("explain.flops.f.decode_bytes", batch=n(w.batch), seq=n(w.seq)),
        ),
        line(
            "bandwidth_efficiency",
            "explain.flops.bandwidth_efficiency",
            t.bandwidth_efficiency,
            "fraction",
            Message("explain.flops.f.bandwidth", bandwidth=per(card.bandwidth_gb_s)),
        ),
        line(
            "decode_step_s",
            "explain.flops.decode_step",
            t.decode_step_s,
            "s",
            Message(BOUNDS.get(t.decode_bound, "explain.flops.bound.memory")),
        ),
        line(
            "decode_tokens_per_s",
            "explain.flops.decode_speed",
            t.decode_tokens_per_s,
            "tokens_s",
            Message("explain.flops.f.decode_speed", batch=n(w.batch)),
        ),
    ]
    if t.time_to_generate_s is not None and tokens is not None:
        lines.append(
            line(
                "time_to_generate_s",
                "explain.flops.time_to_generate",
                t.time_to_generate_s,
                "s",
                Message("explain.flops.f.time_generate", tokens=n(tokens)),
            )
        )
    if t.energy_kwh is not None:
        lines.append(
            line(
                "energy_kwh",
                "explain.flops.energy",
                t.energy_kwh,
                "kwh",
                Message("explain.flops.f.energy", tdp=per(card.tdp_w)),
            )
        )
    return _step(lines, notes, train=False)


def _step(lines: list[Line], notes: list[Message], *, train: bool) -> Step:
    return Step(
        "flops",
        Message("explain.flops.title"),
        Message("explain.flops.idea" if train else "explain.flops.idea_infer"),
        tuple(lines),
        tuple(notes),
    )
