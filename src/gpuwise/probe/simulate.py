"""``probe --simulate``: run the reference step on fake tensors on the CPU and count live bytes.

The model is the real transformers (and peft) model, built from the config on fake tensors
(``FakeTensorMode``: shapes and dtypes, no memory, no weights); the step is the reference
step (docs/reference-step.md). :class:`~gpuwise.probe.live_bytes.LiveBytes` counts the bytes
of every live tensor storage by kind; the peak over the first two steps and its breakdown come
back in the same shape as an analytic plan's memory.

What the CPU run changes to stand for CUDA (each moves the peak by more than 5 % otherwise):

- attention-probability dropout is set to 0: with dropout on, SDPA on the CPU takes its math
  path and keeps the attention matrices, which CUDA's fused kernels never keep;
- the optimizer runs its ``foreach`` implementation (CUDA's default; the CPU default loops);
- under ``amp-*`` the ops CUDA's autocast runs in fp32 but the CPU's does not (``pow``, ``exp``,
  ``softmax`` without a dtype, ``layer_norm``, ...) get fp32 inputs, as on CUDA.

Not simulated: MoE models (token routing is data-dependent, fake tensors have no data),
bitsandbytes (``qlora``, ``adamw-8bit``, int8 / nf4 weights), fp8, and Adafactor (it reads
tensor values): their plans are analytic only.
"""

from __future__ import annotations

import contextlib
import functools
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

from gpuwise.errors import GpuwiseError
from gpuwise.i18n import Message, Text
from gpuwise.models.spec import ModelSpec
from gpuwise.probe.step import (
    autocast,
    build_model,
    prepare_training,
    require_torch,
    torch_dtype,
)
from gpuwise.probe.tricks import causal_lm_loss
from gpuwise.workload import Workload


@dataclass
class Simulated:
    """What one simulation measured."""

    peak_allocated_bytes: int
    breakdown: dict[str, int]
    peak_phase: str
    attn_implementation: str
    seconds: float
    versions: dict[str, str]
    notes: list[Text] = field(default_factory=list)


def unsupported_reason(spec: ModelSpec, w: Workload) -> Message | None:
    """Why this workload cannot be simulated, or None when it can."""
    if spec.is_moe:
        return Message("probe.why.moe")
    if w.method == "qlora" or w.optimizer in ("adamw-8bit", "paged-adamw-8bit"):
        return Message("probe.why.bnb_fake")
    if w.optimizer == "adafactor":
        return Message("probe.why.adafactor")
    if w.task == "infer" and w.stored_weight_dtype in ("int8", "nf4", "fp8", "awq", "gptq"):
        return Message("probe.why.quantized_weights", dtype=w.stored_weight_dtype)
    if w.task == "infer" and w.cache_dtype == "fp8":
        return Message("probe.why.fp8_cache")
    return None


def simulate(config: dict[str, Any], spec: ModelSpec, w: Workload, steps: int = 2) -> Simulated:
    """Run ``steps`` reference steps (or one prefill) on fake tensors; return the peak."""
    reason = unsupported_reason(spec, w)
    if reason:
        raise GpuwiseError(Message("probe.error.cannot_simulate", reason=reason))
    torch = require_torch("probe --simulate")
    import transformers
    from torch._subclasses.fake_tensor import FakeTensorMode

    from gpuwise.probe.live_bytes import LiveBytes

    started = time.perf_counter()
    model_dtype = torch_dtype(w.param_dtype if w.task == "train" else w.stored_weight_dtype)
    fake = FakeTensorMode(allow_non_fake_inputs=True)
    counter = LiveBytes(keep_peak_keys=w.task == "infer")
    with fake:
        model = _build(config, spec, model_dtype)
        attn = str(getattr(model.config, "_attn_implementation", "unknown"))
        if w.task == "train":
            model, optimizer = _prepare_training(model, spec, w, counter)
        for p in model.parameters():
            counter.track(p, "weights")
        for b in model.buffers():
            counter.track(b, "weights")
        with counter:
            if w.task == "train":
                with cuda_like_autocast(w):
                    _train_steps(
                        model, optimizer, spec, w, counter, torch_dtype(w.compute_dtype), steps
                    )
                breakdown = dict(counter.peak_totals)
            else:
                breakdown = _prefill(model, w, counter)
    versions = {"torch": torch.__version__, "transformers": transformers.__version__}
    if w.is_lora:
        import peft

        versions["peft"] = peft.__version__
    return Simulated(
        peak_allocated_bytes=counter.peak,
        breakdown=breakdown,
        peak_phase=counter.peak_phase,
        attn_implementation=attn,
        seconds=time.perf_counter() - started,
        versions=versions,
    )


def _build(config: dict[str, Any], spec: ModelSpec, dtype: Any) -> Any:
    """The model on fake tensors, attention-probability dropout zeroed (see the module doc)."""
    return build_model(config, spec, dtype, zero_attention_dropout=True)


def _prepare_training(
    model: Any, spec: ModelSpec, w: Workload, counter: Any = None
) -> tuple[Any, Any]:
    """The shared preparation, with the foreach optimizer and fake-tensor-safe peft; an
    offloaded layer input leaves ``counter``'s count until its backward brings it back."""
    if w.optimizer in ("adamw-8bit", "paged-adamw-8bit"):  # refused by unsupported_reason
        raise GpuwiseError(Message("probe.error.simulate_optimizer", optimizer=w.optimizer))
    hooks = None
    if counter is not None:
        hooks = functools.partial(_offload_to_host, counter)
    return prepare_training(model, w, foreach=True, get_peft_model=_peft_model, offload_hooks=hooks)


def _offload_to_host(counter: Any) -> contextlib.AbstractContextManager[None]:
    """``save_on_cpu`` for the counter: a saved tensor is copied "to the host" (uncounted) and
    copied back, counted again, when backward unpacks it."""
    import torch

    def pack(t: Any) -> Any:
        return counter.to_host(t)

    def unpack(t: Any) -> Any:
        return t.clone()

    return torch.autograd.graph.saved_tensors_hooks(pack, unpack)


def _peft_model(model: Any, lora: Any) -> Any:
    """``peft.get_peft_model``, without the moves of each adapter to its base layer's device.

    peft moves every new adapter with ``module.to(device)``, which cannot swap fake parameters
    (even when the device is the one they are on). The adapters are built on the model's device
    already, and peft casts them to fp32 itself afterwards (``autocast_adapter_dtype``), so the
    moves are skipped while the adapters are injected.
    """
    import peft
    import torch
    from peft.tuners.tuners_utils import BaseTunerLayer

    def keep(self: Any, *args: Any, **kwargs: Any) -> Any:
        return None

    def to(self: Any, *args: Any, **kwargs: Any) -> Any:
        if not kwargs and len(args) == 1 and isinstance(args[0], (torch.device, str)):
            return self
        return original_to(self, *args, **kwargs)

    original_move = BaseTunerLayer._move_adapter_to_device_of_base_layer
    original_to = torch.nn.Module.to
    BaseTunerLayer._move_adapter_to_device_of_base_layer = keep  # type: ignore[method-assign]
    torch.nn.Module.to = to  # type: ignore[method-assign]
    try:
        return peft.get_peft_model(model, lora)
    finally:
        BaseTunerLayer._move_adapter_to_device_of_base_layer = original_move  # type: ignore[method-assign]
        torch.nn.Module.to = original_to  # type: ignore[method-assign]


def _autocast(w: Workload, compute_dtype: Any) -> contextlib.AbstractContextManager[None]:
    """The forward's autocast (amp-* only), on the CPU."""
    return autocast(w, compute_dtype, "cpu")


@contextlib.contextmanager
def cuda_like_autocast(w: Workload) -> Iterator[None]:
    """For the whole step: CUDA's fp32 ops wherever autocast is on. It must outlive the
    forward: gradient checkpointing re-enters autocast to recompute a layer in backward."""
    if not w.amp:
        yield
        return
    from gpuwise.probe.cuda_autocast import CudaFp32Ops

    with CudaFp32Ops():
        yield


def _train_steps(
    model: Any,
    optimizer: Any,
    spec: ModelSpec,
    w: Workload,
    counter: Any,
    compute_dtype: Any,
    steps: int,
    *,
    tag_gradients: bool = True,
    tag_scalar_states: bool = True,
) -> None:
    """The reference step ``steps`` times, the counter told each phase and kind.

    ``tag_gradients``: retag every trainable parameter's ``.grad`` as a gradient when it is
    made (off where the caller tags gradients itself, as FSDP's sharded ones are).
    ``tag_scalar_states``: also count 0-dim states (AdamW's ``step``) as optimizer state.
    """
    import torch

    if tag_gradients:

        def tag(param: Any) -> None:
            if param.grad is not None:  # None: stepped and freed already (--optimizer-in-bwd)
                counter.retag(param.grad, "gradients")

        for q in model.parameters():
            if q.requires_grad:
                q.register_post_accumulate_grad_hook(tag)
    for _ in range(steps):
        counter.phase, counter.kind = "forward", "activations"
        ids = torch.randint(0, spec.vocab_size, (w.batch, w.seq))
        with _autocast(w, compute_dtype):
            loss = causal_lm_loss(model, ids, w)
        del ids
        counter.phase, counter.kind = "backward", "temporaries"
        loss.backward()
        del loss
        counter.phase, counter.kind = "optimizer", "temporaries"
        optimizer.step()
        for state in optimizer.state.values():
            for value in state.values():
                if isinstance(value, torch.Tensor) and (tag_scalar_states or value.dim() > 0):
                    counter.retag(value, "optimizer")
        counter.phase = "zero_grad"
        optimizer.zero_grad(set_to_none=True)


def _prefill(model: Any, w: Workload, counter: Any) -> dict[str, int]:
    import torch

    model.eval()
    counter.phase, counter.kind = "prefill", "activations"
    with torch.no_grad():
        ids = torch.randint(0, model.config.vocab_size, (w.batch, w.seq))
        out = model(input_ids=ids, use_cache=True, logits_to_keep=1)
    cache_keys = {counter.key(t) for t in _cache_tensors(out.past_key_values)}
    breakdown = dict(counter.peak_totals)
    moved = sum(
        counter.live[k][0] if k in counter.live else 0 for k in cache_keys & counter.peak_keys
    )
    breakdown["activations"] -= moved
    breakdown["kv_cache"] += moved
    return breakdown


def _cache_tensors(cache: Any) -> list[Any]:
    import torch

    found = []
    for layer in getattr(cache, "layers", []):
        for name in ("keys", "values"):
            t = getattr(layer, name, None)
            if isinstance(t, torch.Tensor):
                found.append(t)
    return found
