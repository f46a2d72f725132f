"""Peak memory of the reference training step, analytically, phase by phase.

The live bytes of step 2 (optimizer states exist) are followed through its phases and the
largest total is the peak; it is not a sum of each part's maximum:

- ``forward``: weights + states + what earlier layers keep + the transient of the layer or of
  the LM head and loss that is running (fp32 logits, log-probabilities);
- ``backward`` start: everything the forward kept, plus the loss's fp32 gradients (two
  batch x seq x vocab float32 tensors) and the LM head's gradient;
- ``backward`` end: weights + states + every gradient + the inputs still referenced;
- ``optimizer``: weights + gradients + states + the step's temporaries
  (:mod:`gpuwise.memory.optimizer`).

Activations come from :mod:`gpuwise.memory.terms` (bytes per token the real modules keep);
weights, gradients and states from the exact parameter blocks.
"""

from __future__ import annotations

import functools

from gpuwise.i18n import Message
from gpuwise.memory.estimate import MemoryEstimate
from gpuwise.memory.optimizer import Tensor, state_bytes, step_temporary_bytes
from gpuwise.memory.terms import (
    DERIVED_ON_LAYERS,
    Dims,
    Stack,
    compute_class,
    dims_for,
    mode_key,
    stack_for,
)
from gpuwise.memory.tricks import (
    TRICK_FLAGS,
    analytic_tricks,
    in_bwd_gradient_bytes,
    loss_head,
    offloaded_bytes,
)
from gpuwise.memory.weights import nf4_bytes, quantized
from gpuwise.models.lora import lora_linears
from gpuwise.models.spec import ModelSpec, ParamBlock
from gpuwise.record import record, replace
from gpuwise.units import DTYPE_BYTES
from gpuwise.workload import Workload

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Callable

    from gpuwise.i18n import Text
    from gpuwise.workload import Method, Optimizer, Precision


def trainable_tensors(spec: ModelSpec, w: Workload) -> list[Tensor]:
    """The tensors the optimizer updates: every parameter (full) or the LoRA A and B matrices."""
    out: list[Tensor] = []
    if not w.is_lora:
        for b in spec.train_blocks:
            dtype = "fp32" if b.dtype == "float32" else w.param_dtype
            out.append(Tensor(b.shape, b.count, dtype))
            if b.bias:
                out.append(Tensor((b.bias,), b.count, dtype))
        return out
    for b in lora_linears(spec, w.lora_targets):
        out.append(Tensor((w.lora_rank, b.in_features), b.count, "fp32"))
        out.append(Tensor((b.out_features, w.lora_rank), b.count, "fp32"))
    return out


def tensor_bytes(tensors: list[Tensor]) -> int:
    return sum(t.numel * DTYPE_BYTES[t.dtype] * t.count for t in tensors)


def base_weight_bytes(
    spec: ModelSpec,
    w: Workload,
    blocks: tuple[ParamBlock, ...] | None = None,
    *,
    upcast: bool = True,
) -> int:
    """The model's own weights (or those of ``blocks``) as the step holds them. QLoRA:
    ``upcast`` as prepare_model_for_kbit_training does (the unquantized ones in fp32), else
    the unquantized ones in 16 bits (FSDP's QLoRA, which skips that call)."""
    total = 0
    for b in spec.train_blocks if blocks is None else blocks:
        if w.method == "qlora":
            # NF4 for the quantized linears; prepare_model_for_kbit_training upcasts the rest
            rest = 4 if upcast else DTYPE_BYTES[w.compute_dtype]
            total += nf4_bytes(b) if quantized(b) else b.numel * rest
        else:
            size = 4 if b.dtype == "float32" else DTYPE_BYTES[w.param_dtype]
            total += b.numel * size
    return total


#: Bytes per token an adapter keeps per input feature and per rank, by compute mode: the input
#: copy lora_A casts (fp32 copy of a 16-bit input; autocast's bf16 copy under amp; in fp32 the
#: input itself, shared with the model's own saved tensors about half the time) and lora_A's
#: output. Measured on Llama layers with q,v vs all-linear targets (scripts/trace_layers.py).
ADAPTER_PER_TOKEN = {"16": (4, 4), "amp": (2, 2), "32": (2, 4)}


def _untargeted_per_layer(spec: ModelSpec, w: Workload, precision: str) -> int:
    """Bytes one layer's all-linear LoRA terms count for the linears the user did not target."""
    if w.lora_targets == ("all-linear",):
        return 0
    chosen = {id(b) for b in lora_linears(spec, w.lora_targets)}
    c_in, c_r = ADAPTER_PER_TOKEN[compute_class(precision)]
    per_token = sum(
        c_in * b.in_features + c_r * w.lora_rank
        for b in lora_linears(spec, ("all-linear",))
        if b.count == spec.num_layers and id(b) not in chosen
    )
    return per_token * w.tokens


def head_grads_at_end(spec: ModelSpec, w: Workload) -> int:
    """Gradient bytes of an untied LM head (made before the layers' backward), full training."""
    if w.is_lora:
        return 0
    return sum(
        b.numel * DTYPE_BYTES[w.param_dtype] for b in spec.train_blocks if b.part == "lm_head"
    )


@record
class ModelState:
    """What the step holds besides activations, in bytes on one card: ``weights`` (base weights
    and adapters), ``grads`` (every trainable parameter's gradient), ``states`` (the optimizer's)
    and ``step_tmp`` (the optimizer step's temporaries); ``trainable`` lists the tensors."""

    weights: int
    grads: int
    states: int
    step_tmp: int
    trainable: tuple[Tensor, ...]


@record
class TrainPhases:
    """The live bytes of each phase of the step, by kind, and what they were made from."""

    phases: dict[str, dict[str, int]]
    state: ModelState
    terms_from: str
    notes: list[Text]


def train_memory(spec: ModelSpec, w: Workload) -> MemoryEstimate:
    t = train_phases(spec, w)
    return MemoryEstimate.at_peak(t.phases, t.terms_from, t.notes)


def model_state(spec: ModelSpec, w: Workload) -> ModelState:
    """Weights, gradients, optimizer states and the step's temporaries of one card (the same
    for every batch and context: a search over them reuses it)."""
    return _model_state(
        spec, w.method, w.precision, w.optimizer, w.lora_rank, w.lora_targets, w.upcast
    )


@functools.lru_cache(maxsize=256)
def _model_state(
    spec: ModelSpec,
    method: Method,
    precision: Precision,
    optimizer: Optimizer,
    lora_rank: int,
    lora_targets: tuple[str, ...],
    upcast: bool = True,
) -> ModelState:
    w = Workload(
        method=method,
        precision=precision,
        optimizer=optimizer,
        lora_rank=lora_rank,
        lora_targets=lora_targets,
        upcast=upcast,
    )
    trainable = trainable_tensors(spec, w)
    adapters = tensor_bytes(trainable) if w.is_lora else 0
    return ModelState(
        weights=base_weight_bytes(spec, w, upcast=w.upcast) + adapters,
        grads=tensor_bytes(trainable),
        states=state_bytes(w.optimizer, trainable),
        step_tmp=step_temporary_bytes(w.optimizer, trainable),
        trainable=tuple(trainable),
    )


def _notes(spec: ModelSpec, w: Workload, stack: Stack) -> list[Text]:
    """What the estimate assumed beyond the simulated terms."""
    notes: list[Text] = [
        Message("memory.note.terms_of_same", used=used, model_type=spec.model_type)
        for used in sorted({stack.full.model_type, stack.sliding.model_type})
        if used.split("+")[0] != spec.model_type
    ]
    if w.optimizer in ("adamw-8bit", "paged-adamw-8bit", "adafactor"):
        notes.append(Message("memory.note.optimizer_from_source", optimizer=w.optimizer))
    if spec.is_moe:
        notes.append(Message("memory.note.moe"))
    if w.method == "qlora" and spec.is_moe:
        notes.append(Message("memory.note.qlora_moe"))
    if w.method == "qlora":
        notes.append(Message("memory.note.qlora" if w.upcast else "tricks.note.qlora_16bit"))
    notes += [
        Message("tricks.note.analytic", flag=Message(TRICK_FLAGS[t]), source=source)
        for t, source in analytic_tricks(w)
    ]
    return notes


def _dims(spec: ModelSpec, w: Workload, weight_copies: bool) -> Dims:
    """The shapes the activation terms are evaluated at, without the 16-bit weight copies
    autocast does not make (QLoRA; FSDP's mixed precision: ``weight_copies=False``)."""
    d = dims_for(spec, w.batch, w.seq, w.lora_rank, w.lora_targets if w.is_lora else None)
    if w.method == "qlora" or not weight_copies:
        # no autocast: bitsandbytes dequantizes each weight for its matmul and keeps only the
        # 4-bit one for backward, so the amp terms' 16-bit weight and adapter copies do not exist
        d = replace(d, Wl=0, Wa=0)
    if not weight_copies and w.method != "qlora":
        d = replace(d, Wh=0)  # nor of the LM head
    return d


def _terms_precision(w: Workload) -> str:
    """The precision whose activation terms the step uses (QLoRA's are amp-like: fp32 norms
    and head from prepare_model_for_kbit_training; with --no-upcast a 16-bit LoRA's)."""
    return "amp-bf16" if w.method == "qlora" and w.upcast else w.precision


def activation_terms(
    spec: ModelSpec, w: Workload, *, weight_copies: bool = True
) -> tuple[Stack, Dims]:
    """The activation terms of the step and the shapes they are evaluated at: what
    :func:`train_phases` sums (``gpuwise explain`` shows them term by term)."""
    mode = mode_key("train", _terms_precision(w), w.method, w.grad_checkpointing)
    return stack_for(spec, mode, w.seq), _dims(spec, w, weight_copies)


def train_phases(spec: ModelSpec, w: Workload, *, weight_copies: bool = True) -> TrainPhases:
    """The phases of the step. ``weight_copies=False``: under ``amp-*`` the weights are
    already 16-bit where they compute (FSDP's MixedPrecisionPolicy), so autocast makes no
    16-bit copies of them, the LM head's included; the rest of autocast (fp32 norms,
    softmax) stays. Worked out once per job (every strategy on every count of cards starts
    from the same phases); each caller gets its own dicts and list to change."""
    t = _train_phases(spec, w, weight_copies)
    phases = {name: dict(parts) for name, parts in t.phases.items()}
    return TrainPhases(phases, t.state, t.terms_from, list(t.notes))


@functools.lru_cache(maxsize=256)
def _train_phases(spec: ModelSpec, w: Workload, weight_copies: bool) -> TrainPhases:
    state = model_state(spec, w)
    precision = _terms_precision(w)
    stack, d = activation_terms(spec, w, weight_copies=weight_copies)
    notes = _notes(spec, w, stack)
    # with checkpointing a layer keeps only its input, and the adapters' copies are transient,
    # one at a time: only without it do untargeted linears keep less
    untargeted = 0
    if w.is_lora and not w.grad_checkpointing:
        untargeted = _untargeted_per_layer(spec, w, precision)
    if untargeted:
        notes.append(Message("memory.note.lora_some_linears"))
    fwd = _forward(spec, w, stack, d, untargeted)
    # paged 8-bit AdamW: its states are paged out to host RAM but in the optimizer step
    resident = 0 if w.optimizer == "paged-adamw-8bit" else state.states
    phases = {
        "forward": {
            "weights": state.weights,
            "optimizer": resident,
            "activations": fwd.kept_at_peak,
            "temporaries": fwd.peak - fwd.kept_at_peak,
        },
        **_backward(spec, w, stack, d, replace(state, states=resident), fwd.kept),
        "backward_end": {
            "weights": state.weights,
            "optimizer": resident,
            "gradients": state.grads,
            "temporaries": loss_head(stack, "end_extra", d, w, DTYPE_BYTES[w.param_dtype]),
        },
        "optimizer": {
            "weights": state.weights,
            "gradients": state.grads,
            "optimizer": state.states,
            "temporaries": state.step_tmp,
        },
    }
    if w.optimizer_in_bwd:
        _step_in_backward(phases, state, resident, spec.num_layers)
    return TrainPhases(phases, state, stack.source, notes)


def _step_in_backward(
    phases: dict[str, dict[str, int]], state: ModelState, resident: int, layers: int
) -> None:
    """torchtune's ``optimizer_in_bwd`` (gpuwise/memory/tricks.py): each parameter is stepped
    as its gradient is made and its gradient freed, so the way down the layers holds one
    layer's gradients (or the largest parameter's), none are left at the end, and the step's
    states and temporaries are those of that much at a time (paged states page in for it)."""
    layer = sum(t.numel * DTYPE_BYTES[t.dtype] for t in state.trainable if t.count == layers)
    live = in_bwd_gradient_bytes(layer, state.trainable)
    share = live / state.grads if state.grads else 0.0
    down = phases["backward_layers"]
    down["gradients"] = min(down["gradients"], live)
    if state.grads:
        # the LM head's weight (or the tied embedding) gets its gradient at the start of the
        # backward and is stepped right then, beside the loss's and head's transients
        largest = max(t.numel * DTYPE_BYTES[t.dtype] for t in state.trainable) / state.grads
        head = phases["backward"]
        head["temporaries"] += round(state.step_tmp * largest)
        head["optimizer"] += round((state.states - resident) * largest)
    phases["backward_end"]["gradients"] = 0
    phases["optimizer"] = {
        "weights": state.weights,
        "gradients": live,
        "optimizer": resident + round((state.states - resident) * share),
        "temporaries": round(state.step_tmp * share),
    }


@record
class _Forward:
    """The forward's activations: ``kept`` for the backward once it ends, its ``peak`` (kept
    and transient) and what of it is kept at that moment (``kept_at_peak``)."""

    kept: int
    peak: int
    kept_at_peak: int


def _head(stack: Stack, d: Dims, w: Workload) -> Callable[[str], int]:
    """A head window's bytes under the workload's loss (gpuwise/memory/tricks.py)."""

    def window(name: str) -> int:
        return loss_head(stack, name, d, w, DTYPE_BYTES[w.param_dtype])

    return window


def _forward(spec: ModelSpec, w: Workload, stack: Stack, d: Dims, untargeted: int) -> _Forward:
    """The forward: each layer keeps its activations; the peak is inside the last layer, at
    the LM head and loss (fp32 logits), or before the first layer."""
    L = spec.num_layers
    head = _head(stack, d, w)
    pre = stack.pre("pre", d)
    # offloaded checkpointing: what the layers keep (their inputs) waits in host RAM
    offloaded = offloaded_bytes(stack, d, w)
    kept_by_layers = pre + stack.layers(d) - L * untargeted - offloaded
    fwd_layer = (
        pre
        + stack.layers(d, L - 1)
        - L * untargeted
        - offloaded * (L - 1) // max(L, 1)
        + stack.last_layer("layer_fwd_peak", d)
    )
    fwd_head = kept_by_layers + head("head_fwd_peak")
    kept = kept_by_layers + head("head")
    if w.amp and w.grad_checkpointing:
        # autocast caches 16-bit copies of the trainable weights for the forward; with
        # checkpointing nothing saves them, so they go when the forward leaves autocast. The
        # head's terms already drop those of the derivation's few layers; drop the others.
        copies = stack.layers(d) - stack.layers(replace(d, Wl=0, Wa=0))
        kept -= copies * max(0, L - DERIVED_ON_LAYERS) // max(L, 1)
    peak = max(stack.pre("pre_peak", d), fwd_layer, fwd_head)
    # what is kept for backward at the forward's peak (the rest is transient)
    kept_at_peak = kept if peak == fwd_head else kept_by_layers
    return _Forward(kept, peak, min(peak, kept_at_peak))


def _backward(
    spec: ModelSpec, w: Workload, stack: Stack, d: Dims, state: ModelState, kept: int
) -> dict[str, dict[str, int]]:
    """The backward's start (loss, LM head, final norm) and its way down through the layers."""
    L = spec.num_layers
    head = _head(stack, d, w)
    moments = {
        "loss": head("loss_bwd_peak"),
        "lm_head": head("lmhead_bwd_peak"),
        "final norm": head("head_bwd_peak"),
    }
    moment = max(moments, key=lambda k: moments[k])
    bwd_extra = moments[moment]
    head_grads = 0
    if moment != "loss" and not w.is_lora:  # the LM head's weight gradient is made by then
        head_grads = min(bwd_extra, d.Wh * DTYPE_BYTES[w.param_dtype])
    # through the layers: after the head's, each layer frees what it kept and makes its
    # gradients (with checkpointing: recomputes its activations first); the peak is inside the
    # top layer, or the bottom one when each layer leaves more than it frees
    head_left = head("head_bwd_delta")
    lower_layers = stack.layers(d, L - 1, "layer_bwd_delta")
    # offloaded: a layer's input comes back for its recomputation and goes when it is done,
    # one layer at a time (a transient of that layer's backward)
    back_from_host = stack.layers(d, 1) if offloaded_bytes(stack, d, w) else 0
    per_layer_grads = sum(
        t.numel * DTYPE_BYTES[t.dtype] for t in state.trainable if t.count == L
    )  # one layer's (their gradients are made as backward leaves each layer)
    grads_then = min(
        max(0, kept + head_left + max(0, lower_layers)),
        head_grads_at_end(spec, w) + (L - 1) * per_layer_grads * (lower_layers > 0),
    )
    return {
        "backward": {
            "weights": state.weights,
            "optimizer": state.states,
            "activations": kept,
            "gradients": head_grads,
            "temporaries": bwd_extra - head_grads,
        },
        "backward_layers": {
            "weights": state.weights,
            "optimizer": state.states,
            "gradients": grads_then,
            "activations": kept + head_left + max(0, lower_layers) - grads_then,
            "temporaries": stack.last_layer("layer_bwd_peak", d) + back_from_host,
        },
    }
