"""Step 2: bytes per parameter. What the weights, the gradients and the optimizer states take
under the precision and method chosen (training), or the stored weights (inference); every
figure is the memory model's (:func:`gpuwise.memory.train.model_state`, the plan's breakdown)."""

from __future__ import annotations

from gpuwise.explain.step import Line, Step, line, n, per
from gpuwise.i18n import Message
from gpuwise.memory.rank import RankMemory
from gpuwise.memory.train import base_weight_bytes, model_state
from gpuwise.models.spec import ModelSpec
from gpuwise.timing.estimate import trainable_params
from gpuwise.workload import Workload

#: How each optimizer's states are counted, and its step's temporary (the keys say it).
_STATES = {
    "adamw": "explain.state.f.adam",
    "adamw-fused": "explain.state.f.adam",
    "sgd": "explain.state.f.sgd",
    "adamw-8bit": "explain.state.f.adam8",
    "paged-adamw-8bit": "explain.state.f.adam8",
    "adafactor": "explain.state.f.adafactor",
}
_TEMPORARY = {
    "adamw": "explain.state.f.tmp_foreach",
    "adafactor": "explain.state.f.tmp_adafactor",
}


def bytes_step(spec: ModelSpec, w: Workload, memory: RankMemory) -> Step:
    if w.task == "infer":
        return _infer(spec, w, memory)
    state = model_state(spec, w)
    params = spec.trained_params
    trainable = trainable_params(spec, w)
    lines: list[Line] = []
    if w.is_lora:
        base = base_weight_bytes(spec, w)
        adapters = state.weights - base
        base_formula = (
            Message("explain.state.f.qlora_base", params=n(params), per=per(base / params))
            if w.method == "qlora"
            else Message(
                "explain.state.f.weights",
                params=n(params),
                per=per(base / params),
                dtype=w.param_dtype,
            )
        )
        lines.append(
            line("base_weights", "explain.state.base_weights", base, "bytes", base_formula)
        )
        lines.append(
            line(
                "adapter_weights",
                "explain.state.adapter_weights",
                adapters,
                "bytes",
                Message(
                    "explain.state.f.weights",
                    params=n(trainable),
                    per=per(adapters / trainable),
                    dtype="fp32",
                ),
            )
        )
    else:
        lines.append(
            line(
                "weights",
                "explain.state.weights",
                state.weights,
                "bytes",
                Message(
                    "explain.state.f.weights",
                    params=n(params),
                    per=per(state.weights / params),
                    dtype=w.param_dtype,
                ),
            )
        )
    lines.append(
        line(
            "gradients",
            "explain.state.gradients",
            state.grads,
            "bytes",
            Message("explain.state.f.grads", params=n(trainable), per=per(state.grads / trainable)),
        )
    )
    ratio = state.states / trainable
    lines.append(
        line(
            "optimizer",
            "explain.state.optimizer",
            state.states,
            "bytes",
            Message(
                _STATES[w.optimizer],
                params=n(trainable),
                per=per(ratio),
                half=per(ratio / 2),
                optimizer=w.optimizer,
            ),
        )
    )
    if state.step_tmp:
        lines.append(
            line(
                "step_temporary",
                "explain.state.step_temporary",
                state.step_tmp,
                "bytes",
                Message(
                    _TEMPORARY.get(w.optimizer, "explain.state.f.tmp_foreach"),
                    optimizer=w.optimizer,
                ),
            )
        )
    held = state.weights + state.grads + state.states
    lines.append(
        line(
            "model_state",
            "explain.state.total",
            held,
            "bytes",
            Message("explain.state.f.total", per=per(held / params), params=n(params)),
        )
    )
    return Step(
        "bytes_per_parameter",
        Message("explain.state.title"),
        Message("explain.state.idea"),
        tuple(lines),
        _notes(w),
    )


def _notes(w: Workload) -> tuple[Message, ...]:
    notes = []
    if w.method == "full" and w.precision in ("bf16", "fp16"):
        notes.append(Message("explain.state.precision.half", precision=w.precision))
    elif w.method == "full" and w.amp:
        notes.append(Message("explain.state.precision.amp", precision=w.precision))
    elif w.method == "full":
        notes.append(Message("explain.state.precision.fp32"))
    elif w.method == "lora":
        notes.append(Message("explain.state.method.lora", dtype=w.param_dtype))
    elif w.method == "qlora":
        notes.append(Message("explain.state.method.qlora"))
    if w.optimizer in ("adamw", "adamw-fused"):
        notes.append(Message("explain.state.adam", optimizer=w.optimizer))
    return tuple(notes)


def _infer(spec: ModelSpec, w: Workload, memory: RankMemory) -> Step:
    weights = memory.breakdown["weights"]
    dtype = w.stored_weight_dtype
    lines = (
        line(
            "weights",
            "explain.state.stored_weights",
            weights,
            "bytes",
            Message(
                "explain.state.f.weights",
                params=n(spec.params),
                per=per(weights / spec.params),
                dtype=dtype,
            ),
        ),
    )
    notes = [Message("explain.state.infer")]
    if dtype in ("int8", "nf4", "fp8"):
        notes.append(Message("explain.state.quantized", dtype=dtype))
    return Step(
        "bytes_per_parameter",
        Message("explain.state.title"),
        Message("explain.state.idea_infer"),
        lines,
        tuple(notes),
    )
