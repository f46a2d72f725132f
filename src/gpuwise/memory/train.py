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

from gpuwise.memory.estimate import MemoryEstimate
from gpuwise.memory.optimizer import Tensor, state_bytes, step_temporary_bytes
from gpuwise.memory.terms import dims_for, mode_key, stack_for
from gpuwise.memory.weights import _nf4_bytes, _quantized
from gpuwise.models.spec import ModelSpec
from gpuwise.workload import Workload, lora_target_names

BYTES = {"bf16": 2, "fp16": 2, "fp32": 4}
HEAD_PARTS = ("lm_head", "mlm_head")


def _targets(spec: ModelSpec, w: Workload) -> set[str]:
    if w.lora_targets == ("all-linear",):
        return set(lora_target_names(spec))
    return set(w.lora_targets)


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
    names = _targets(spec, w)
    for b in spec.train_blocks:
        if b.linear and b.part not in HEAD_PARTS and b.name.rsplit(".", 1)[-1] in names:
            in_f = b.shape[-2] if b.transposed else b.shape[-1]
            out.append(Tensor((w.lora_rank, in_f), b.count, "fp32"))
            out.append(Tensor((b.out_features, w.lora_rank), b.count, "fp32"))
    return out


def tensor_bytes(tensors: list[Tensor]) -> int:
    return sum(t.numel * BYTES[t.dtype] * t.count for t in tensors)


def base_weight_bytes(spec: ModelSpec, w: Workload) -> int:
    """The model's own weights as the step holds them."""
    total = 0
    for b in spec.train_blocks:
        if w.method == "qlora":
            # NF4 for the quantized linears; prepare_model_for_kbit_training upcasts the rest
            total += _nf4_bytes(b) if _quantized(b) else b.numel * 4
        else:
            size = 4 if b.dtype == "float32" else BYTES[w.param_dtype]
            total += b.numel * size
    return total


def train_memory(spec: ModelSpec, w: Workload) -> MemoryEstimate:
    notes: list[str] = []
    trainable = trainable_tensors(spec, w)
    adapters = tensor_bytes(trainable) if w.is_lora else 0
    weights = base_weight_bytes(spec, w) + adapters
    grads = tensor_bytes(trainable)
    states = state_bytes(w.optimizer, trainable)
    step_tmp = step_temporary_bytes(w.optimizer, trainable)

    precision = "amp-bf16" if w.method == "qlora" else w.precision
    mode = mode_key("train", precision, w.method, w.grad_checkpointing)
    stack = stack_for(spec, mode, w.seq)
    if stack.full.model_type not in (spec.model_type, f"{spec.model_type}+sliding"):
        notes.append(
            f"activation terms of {stack.full.model_type} used for {spec.model_type} "
            "(same layer structure, not simulated separately)"
        )
    if spec.is_moe:
        notes.append(
            "MoE layers: activations as a dense MLP as wide as the experts a token uses "
            "(k x moe_intermediate_size + shared); the simulator cannot check MoE routing"
        )
    if w.method == "qlora":
        notes.append(
            "qlora: activations as LoRA with fp32 embeddings and norms (amp-like terms); "
            "bitsandbytes dequantization buffers are not counted (not simulated)"
        )
    if w.is_lora and w.lora_targets != ("all-linear",):
        notes.append("activation terms are those of all-linear LoRA; other targets keep less")
    d = dims_for(spec, w.batch, w.seq, w.lora_rank)
    L = spec.num_layers
    pre = stack.pre("pre", d)
    kept_by_layers = pre + stack.layers(d)
    fwd_layer = pre + stack.layers(d, L - 1) + stack.last_layer("layer_fwd_peak", d)
    fwd_head = kept_by_layers + stack.head("head_fwd_peak", d)
    kept = kept_by_layers + stack.head("head", d)
    moments = {
        "loss": stack.head("loss_bwd_peak", d),
        "lm_head": stack.head("lmhead_bwd_peak", d),
        "final norm": stack.head("head_bwd_peak", d),
    }
    moment = max(moments, key=lambda k: moments[k])
    bwd_extra = moments[moment]
    head_grads = 0
    if moment != "loss" and not w.is_lora:  # the LM head's weight gradient is made by then
        head_grads = min(bwd_extra, d.Wh * BYTES[w.param_dtype])
    fwd_total = max(stack.pre("pre_peak", d), fwd_layer, fwd_head)
    phases = {
        "forward": {
            "weights": weights,
            "optimizer": states,
            "activations": min(fwd_total, kept_by_layers),
            "temporaries": fwd_total - min(fwd_total, kept_by_layers),
        },
        "backward": {
            "weights": weights,
            "optimizer": states,
            "activations": kept,
            "gradients": head_grads,
            "temporaries": bwd_extra - head_grads,
        },
        "backward_end": {
            "weights": weights,
            "optimizer": states,
            "gradients": grads,
            "temporaries": stack.head("end_extra", d),
        },
        "optimizer": {
            "weights": weights,
            "gradients": grads,
            "optimizer": states,
            "temporaries": step_tmp,
        },
    }
    return MemoryEstimate.at_peak(phases, stack.source, notes)
