"""The memory tricks as the step runs them (``--loss chunked|fused``,
``--grad-checkpointing offload``), on real or fake tensors.

What each does and where it comes from: ``gpuwise/memory/data/tricks.json``. Here:

- :func:`causal_lm_loss`: the step's loss. ``full`` is the model's own (all logits, upcast to
  fp32); ``chunked`` runs the LM head and the cross-entropy a chunk of tokens at a time, each
  chunk under non-reentrant checkpointing, so only the chunk's logits exist at once and
  backward recomputes them; ``fused`` works out the loss and its gradients chunk by chunk in
  the forward (Liger-Kernel's fused linear cross-entropy) and keeps only the gradient of the
  hidden states (and of the head's weight when it trains) for backward.
- :func:`enable_offloaded_checkpointing`: transformers' checkpointing of each decoder layer,
  with the tensors its checkpoint keeps (the layer's inputs) held in host RAM until backward
  (transformers' ``activation_checkpointing_enable(offload=True)``: ``save_on_cpu`` around the
  checkpoint; unsloth's ``"unsloth"`` mode moves the same hidden states).

The chunk size is Liger-Kernel's rule (:func:`gpuwise.memory.tricks.loss_chunk_tokens`), which
the analytic plan reads too.
"""

from __future__ import annotations

import contextlib
import functools
from collections.abc import Callable
from typing import Any

from gpuwise.memory.tricks import loss_chunk_tokens
from gpuwise.workload import Workload

IGNORE = -100


def causal_lm_loss(model: Any, ids: Any, w: Workload) -> Any:
    """The step's loss over ``ids`` (labels = ids, shifted as transformers shifts them)."""
    if w.loss == "full":
        return model(input_ids=ids, labels=ids).loss
    import torch

    causal = model.get_base_model() if hasattr(model, "get_base_model") else model
    body = getattr(causal, causal.base_model_prefix)
    head = causal.get_output_embeddings()
    hidden = body(input_ids=ids).last_hidden_state
    labels = torch.nn.functional.pad(ids, (0, 1), value=IGNORE)[..., 1:].reshape(-1)
    x = hidden.reshape(-1, hidden.shape[-1])
    del hidden
    count = (labels != IGNORE).sum()
    cap = getattr(causal.config, "final_logit_softcapping", None)
    chunk = loss_chunk_tokens(x.shape[0], x.shape[1], head.weight.shape[0])
    if w.loss == "chunked":
        from torch.utils.checkpoint import checkpoint

        parts = [
            checkpoint(
                _chunk_loss,
                head,
                x[start : start + chunk],
                labels[start : start + chunk],
                cap,
                use_reentrant=False,
            )
            for start in range(0, x.shape[0], chunk)
        ]
        return sum(parts[1:], parts[0]) / count
    return _fused_class().apply(x, head.weight, labels, count, chunk, cap)


def _chunk_loss(head: Any, x: Any, labels: Any, cap: float | None) -> Any:
    import torch

    logits = head(x)
    if cap:
        logits = torch.tanh(logits / cap) * cap
    return torch.nn.functional.cross_entropy(
        logits.float(), labels, ignore_index=IGNORE, reduction="sum"
    )


@functools.lru_cache(maxsize=1)
def _fused_class() -> Any:
    import torch

    class FusedLinearCrossEntropy(torch.autograd.Function):
        """Liger-Kernel's fused linear cross-entropy in torch: per chunk of tokens, the logits,
        their softmax turned into the loss's gradient, and that gradient taken on to the
        hidden states (and the head's weight) at once; backward only scales them."""

        @staticmethod
        def forward(
            ctx: Any,
            x: Any,
            weight: Any,
            labels: Any,
            count: Any,
            chunk: int,
            cap: float | None,
        ) -> Any:
            grad_x = torch.zeros_like(x)
            grad_w = torch.zeros_like(weight) if weight.requires_grad else None
            loss = torch.zeros((), dtype=torch.float32, device=x.device)
            for start in range(0, x.shape[0], chunk):
                xs, ys = x[start : start + chunk], labels[start : start + chunk]
                logits = (xs @ weight.t()).float()
                if cap:
                    logits = torch.tanh(logits / cap) * cap
                lse = torch.logsumexp(logits, dim=-1)
                valid = ys != IGNORE
                target = logits.gather(1, ys.clamp(min=0).unsqueeze(1)).squeeze(1)
                loss = loss + ((lse - target) * valid).sum()
                # softmax - one-hot, in place (Liger's kernel writes it over the logits)
                grad = logits.sub_(lse.unsqueeze(1)).exp_()
                grad.scatter_add_(1, ys.clamp(min=0).unsqueeze(1), -valid.unsqueeze(1).float())
                grad = (grad * valid.unsqueeze(1) / count).to(x.dtype)
                grad_x[start : start + chunk] = grad @ weight
                if grad_w is not None:
                    grad_w += grad.t() @ xs
                del logits, grad
            ctx.save_for_backward(grad_x, *(() if grad_w is None else (grad_w,)))
            ctx.has_w = grad_w is not None
            return loss / count

        @staticmethod
        def backward(ctx: Any, grad_out: Any) -> Any:
            saved = ctx.saved_tensors
            grad_x = saved[0].mul_(grad_out)
            grad_w = saved[1].mul_(grad_out) if ctx.has_w else None
            return grad_x, grad_w, None, None, None, None

    return FusedLinearCrossEntropy


def host_offload_hooks() -> contextlib.AbstractContextManager[None]:
    """Tensors saved for backward go to pinned host RAM (``torch.autograd.graph.save_on_cpu``,
    what transformers' offload uses on a GPU)."""
    import torch

    return torch.autograd.graph.save_on_cpu(pin_memory=torch.cuda.is_available())


def enable_offloaded_checkpointing(
    model: Any, hooks: Callable[[], contextlib.AbstractContextManager[None]] = host_offload_hooks
) -> None:
    """Checkpoint each decoder layer (non-reentrant), the tensors its checkpoint saves (the
    layer's inputs) held through ``hooks`` (host RAM) until its backward."""
    from torch.utils.checkpoint import checkpoint

    def offloaded(function: Any, *args: Any, **kwargs: Any) -> Any:
        with hooks():
            return checkpoint(function, *args, use_reentrant=False, **kwargs)

    model._set_gradient_checkpointing(enable=True, gradient_checkpointing_func=offloaded)
