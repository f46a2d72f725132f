"""The reference step's pieces shared by ``probe --simulate`` (fake tensors) and ``--measure``
(real tensors on a GPU or the CPU): build the model from its config, prepare it for training
(checkpointing, LoRA, QLoRA, the optimizer) and the forward's autocast.

The two callers differ only where a CPU run must stand for CUDA (docs/reference-step.md): the
simulator zeroes attention-probability dropout and forces the ``foreach`` optimizer; a real run
on CUDA keeps dropout (the fused kernels handle it) and the optimizer's own default.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from typing import Any

from gpuwise.errors import GpuwiseError
from gpuwise.i18n import Message
from gpuwise.models.spec import ModelSpec
from gpuwise.workload import Workload

#: Config keys that hold attention-probability dropout, per model family.
ATTENTION_DROPOUT_KEYS = ("attention_dropout", "attn_pdrop", "attention_probs_dropout_prob")


def require_torch(command: str) -> Any:
    """``torch`` (with transformers importable), or a one-line error naming the extra."""
    try:
        import torch
        import transformers  # noqa: F401
    except ImportError:
        raise GpuwiseError(Message("probe.error.needs_torch", command=command)) from None
    return torch


def torch_dtype(name: str) -> Any:
    """``bf16`` / ``fp16`` / ``fp32`` -> the torch dtype."""
    import torch

    return {"bf16": torch.bfloat16, "fp16": torch.float16, "fp32": torch.float32}[name]


def hf_config(config: dict[str, Any], spec: ModelSpec, zero_attention_dropout: bool) -> Any:
    """The transformers config of ``config`` (attention dropout zeroed when asked)."""
    import transformers

    kwargs = {k: v for k, v in config.items() if k not in ("model_type", "torch_dtype", "dtype")}
    if zero_attention_dropout:
        for key in ATTENTION_DROPOUT_KEYS:
            if key in kwargs or key in _config_defaults(spec.model_type):
                kwargs[key] = 0.0
    return transformers.AutoConfig.for_model(spec.model_type, **kwargs)


def auto_class(spec: ModelSpec) -> Any:
    """``AutoModelForMaskedLM`` for encoders, ``AutoModelForCausalLM`` otherwise."""
    import transformers

    if spec.kind == "encoder":
        return transformers.AutoModelForMaskedLM
    return transformers.AutoModelForCausalLM


def build_model(
    config: dict[str, Any],
    spec: ModelSpec,
    dtype: Any,
    *,
    zero_attention_dropout: bool = True,
    device: str | None = None,
) -> Any:
    """The model with random weights, built from its config in ``dtype`` (no download).

    ``device``: build directly there (``"cuda"``: initialised on the GPU, no host copy); None
    builds wherever the ambient mode puts tensors (fake tensors for the simulator).
    """
    cfg = hf_config(config, spec, zero_attention_dropout)
    auto = auto_class(spec)
    if device is None:
        return auto.from_config(cfg, dtype=dtype)
    import torch

    with torch.device(device):
        return auto.from_config(cfg, dtype=dtype)


def _config_defaults(model_type: str) -> set[str]:
    import transformers

    return set(transformers.AutoConfig.for_model(model_type).to_dict())


def lora_config(w: Workload) -> Any:
    """peft's LoraConfig of the reference step: alpha = 2·rank, no dropout."""
    import peft

    targets: Any = "all-linear" if w.lora_targets == ("all-linear",) else list(w.lora_targets)
    return peft.LoraConfig(
        r=w.lora_rank,
        lora_alpha=2 * w.lora_rank,
        lora_dropout=0.0,
        target_modules=targets,
        task_type=None,
    )


def prepare_training(
    model: Any,
    w: Workload,
    *,
    foreach: bool | None = True,
    get_peft_model: Any = None,
    offload_hooks: Any = None,
) -> tuple[Any, Any]:
    """``train()``, checkpointing, LoRA (or QLoRA's kbit preparation) and the optimizer.

    ``foreach``: True forces the foreach AdamW / SGD (CUDA's default; the simulator on the CPU
    needs it said), None keeps torch's default for the device. ``get_peft_model``: a stand-in
    for ``peft.get_peft_model`` (the simulator's, which skips moves fake tensors cannot make).
    """
    model.train()
    if w.method == "qlora":
        import peft

        model = peft.prepare_model_for_kbit_training(
            model,
            use_gradient_checkpointing=w.grad_checkpointing,
            gradient_checkpointing_kwargs={"use_reentrant": False},
        )
    elif w.grad_checkpointing:
        model.gradient_checkpointing_enable(gradient_checkpointing_kwargs={"use_reentrant": False})
    if w.grad_checkpointing and w.ckpt_offload:
        from gpuwise.probe.tricks import enable_offloaded_checkpointing, host_offload_hooks

        enable_offloaded_checkpointing(model, offload_hooks or host_offload_hooks)
    if w.is_lora:
        import peft

        if w.grad_checkpointing:
            model.enable_input_require_grads()
        model = (get_peft_model or peft.get_peft_model)(model, lora_config(w))
        model.train()
    params = [p for p in model.parameters() if p.requires_grad]
    if w.optimizer_in_bwd:
        return model, InBackward(params, w.optimizer, foreach)
    return model, make_optimizer(params, w.optimizer, foreach)


class InBackward:
    """torchtune's ``OptimizerInBackward`` (torchtune/modules/optim.py, ``--optimizer-in-bwd``):
    one optimizer per parameter, stepped by a post-accumulate-grad hook as soon as the
    parameter's gradient is made, then the gradient freed. The step loop's ``step()`` and
    ``zero_grad()`` then have nothing left to do."""

    def __init__(self, params: list[Any], name: str, foreach: bool | None) -> None:
        self._optimizers = {id(p): make_optimizer([p], name, foreach) for p in params}
        for p in params:
            p.register_post_accumulate_grad_hook(self._step_and_clear)

    def _step_and_clear(self, param: Any) -> None:
        optimizer = self._optimizers[id(param)]
        optimizer.step()
        optimizer.zero_grad(set_to_none=True)

    @property
    def state(self) -> dict[Any, Any]:
        """Every parameter's optimizer state, as one optimizer's ``state``."""
        out: dict[Any, Any] = {}
        for optimizer in self._optimizers.values():
            out.update(optimizer.state)
        return out

    def step(self) -> None:
        """Nothing: each parameter was stepped in the backward."""

    def zero_grad(self, set_to_none: bool = True) -> None:
        """Nothing: each gradient was freed once its parameter was stepped."""


def make_optimizer(params: list[Any], name: str, foreach: bool | None) -> Any:
    """The optimizer the workload names, over ``params``."""
    import torch

    if name in ("adamw", "adamw-fused"):
        fused = name == "adamw-fused"
        return torch.optim.AdamW(
            params, lr=1e-5, foreach=None if fused else foreach, fused=fused or None
        )
    if name == "sgd":
        return torch.optim.SGD(params, lr=1e-3, momentum=0.9, foreach=foreach)
    if name == "adafactor":
        from transformers.optimization import Adafactor

        return Adafactor(params, lr=None, relative_step=True, scale_parameter=True)
    if name == "adamw-8bit":
        bnb = import_bitsandbytes("--optimizer adamw-8bit")
        return bnb.optim.AdamW8bit(params, lr=1e-5)
    if name == "paged-adamw-8bit":
        bnb = import_bitsandbytes("--optimizer paged-adamw-8bit")
        return bnb.optim.PagedAdamW8bit(params, lr=1e-5)
    raise GpuwiseError(Message("probe.error.unknown_optimizer", name=repr(name)))


def import_bitsandbytes(what: str) -> Any:
    """bitsandbytes, or a one-line error that names the extra to install."""
    try:
        import bitsandbytes
    except ImportError:
        raise GpuwiseError(Message("probe.error.needs_bnb", what=what)) from None
    return bitsandbytes


@contextlib.contextmanager
def autocast(w: Workload, compute_dtype: Any, device_type: str = "cpu") -> Iterator[None]:
    """The forward's autocast (``amp-*`` only) on ``device_type``."""
    if not w.amp:
        yield
        return
    import torch

    with torch.autocast(device_type, dtype=compute_dtype):
        yield
