"""The memory tricks of the training step (``--loss chunked|fused``, ``--grad-checkpointing
offload``, ``--optimizer paged-adamw-8bit``, ``--no-upcast``, ``--packing``): the rules the
plan applies, with their sources in ``data/tricks.json``.

Each changes the reference step (docs/reference-step.md) in one place:

- the loss (:func:`loss_head`): the LM head and the cross-entropy run a chunk of tokens at a
  time (Liger-Kernel's chunk size, :func:`loss_chunk_tokens`), so the fp32 logits of the whole
  batch never exist;
- offloaded checkpointing: each layer's checkpointed input lives in host RAM between its
  forward and its backward (:func:`offloaded_bytes`);
- paged 8-bit AdamW: its states are CUDA managed memory the driver pages out to host RAM when
  the card runs short, so they count only while the optimizer step runs;
- no-upcast: QLoRA's unquantized weights stay 16-bit and the step computes as a 16-bit LoRA;
- packing: the batch's examples in one row with position ids, attention by FlashAttention 2's
  variable-length kernel: the reference step has no padding, so the memory is the same;
- optimizer in the backward (torchtune's ``optimizer_in_bwd``, :func:`in_bwd_gradient_bytes`):
  each parameter is stepped as its gradient is made, so no full set of gradients exists.
"""

from __future__ import annotations

import functools

from gpuwise.packaged import packaged_json
from gpuwise.record import replace
from gpuwise.units import DTYPE_BYTES

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

    from gpuwise.memory.optimizer import Tensor
    from gpuwise.memory.terms import Dims, Stack
    from gpuwise.workload import Workload


#: Each trick's flag as the output names it (the catalogue's key).
TRICK_FLAGS = {
    "loss-chunked": "tricks.flag.loss-chunked",
    "loss-fused": "tricks.flag.loss-fused",
    "ckpt-offload": "tricks.flag.ckpt-offload",
    "no-upcast": "tricks.flag.no-upcast",
    "packing": "tricks.flag.packing",
    "paged-adamw-8bit": "tricks.flag.paged-adamw-8bit",
    "optimizer-in-bwd": "tricks.flag.optimizer-in-bwd",
}


#: Copies of the LM head's weight gradient (in the compute dtype) alive at once while a chunk
#: of the chunked loss runs its backward in a full fine-tune: the sum so far, the chunk's own
#: and, for a moment, their sum (autograd adds them out of place). Fitted on the simulated
#: grid (tests/accuracy/tricks_simulated.json): 2 leaves the tiny configs 6 % under, 4 puts
#: them 9 % over.
HEAD_GRAD_COPIES = 3


@functools.lru_cache(maxsize=1)
def tricks_data() -> dict[str, Any]:
    data: dict[str, Any] = packaged_json("gpuwise.memory", "data/tricks.json")
    return data


def _next_power_of_2(n: int) -> int:
    return 1 << max(0, n - 1).bit_length()


def loss_chunk_tokens(tokens: int, hidden: int, vocab: int) -> int:
    """Tokens per chunk of the chunked and fused losses: Liger-Kernel's rule, so a chunk's
    logits are about as large as the hidden states (``inc = ceil(V / h)``, chunk =
    ``next_power_of_2(ceil(tokens / inc))``), at most every token."""
    inc = -(-vocab // max(hidden, 1))
    return max(1, min(tokens, _next_power_of_2(-(-tokens // max(inc, 1)))))


def loss_head(stack: Stack, window: str, d: Dims, w: Workload, param_bytes: int) -> int:
    """The head window ``window`` (``head``, ``head_fwd_peak``, ``loss_bwd_peak``, ...: see
    :mod:`gpuwise.memory.terms`) under ``w``'s loss. ``full``: the reference's. Otherwise the
    reference's forms with the logits of one chunk instead of every token's (the forms' ``T*V``
    terms at ``chunk x V``), and:

    - ``chunked``: nothing of the logits kept; in backward a chunk is recomputed (its kept
      tensors come back) and then makes its gradients;
    - ``fused``: the gradient of the hidden states (``T x h`` in the compute dtype) and, when
      the head trains, of its weight are made in the forward and kept until backward, which
      only scales them in place.
    """
    if w.loss == "full":
        return stack.head(window, d)
    chunk = loss_chunk_tokens(d.b * d.s, d.h, d.V)
    at_chunk = replace(d, V=d.V * chunk / (d.b * d.s))
    none = replace(d, V=0)
    kept_chunk = stack.head("head", at_chunk) - stack.head("head", none)
    if w.loss == "chunked":
        if window == "head":
            return stack.head("head", none)
        if window == "head_fwd_peak":
            return stack.head("head_fwd_peak", at_chunk)
        if window in ("loss_bwd_peak", "lmhead_bwd_peak", "head_bwd_peak"):
            # the head's weight gradient (full training) is made by the first chunk and
            # summed with each next chunk's (see HEAD_GRAD_COPIES)
            grad = 0
            several = chunk < d.b * d.s  # one chunk: nothing to sum, as the reference
            if window == "loss_bwd_peak" and not w.is_lora and several:
                grad = HEAD_GRAD_COPIES * d.Wh * DTYPE_BYTES[w.compute_dtype]
            return kept_chunk + stack.head(window, at_chunk) + grad
        return stack.head(window, none)
    grads = d.b * d.s * d.h * DTYPE_BYTES[w.compute_dtype]
    if not w.is_lora:
        grads += d.Wh * param_bytes
    if window == "head":
        return stack.head("head", none) + grads
    if window == "head_fwd_peak":
        return stack.head("head_fwd_peak", at_chunk) + grads
    if window == "loss_bwd_peak":
        return 0
    if window == "head_bwd_delta":
        return stack.head(window, none) - grads
    return stack.head(window, none)


def offloaded_bytes(stack: Stack, d: Dims, w: Workload) -> int:
    """What the layers keep for backward that offloaded checkpointing holds in host RAM
    instead (with checkpointing, a layer keeps only its inputs: all of it)."""
    if not (w.grad_checkpointing and w.ckpt_offload):
        return 0
    return stack.layers(d)


def tricks_dict(w: Workload) -> list[dict[str, Any]]:
    """The tricks on, for JSON: each one's flag, whether the simulator runs it (else its figure
    is the rule's alone) and its first source."""
    data = tricks_data()["tricks"]
    return [
        {
            "name": t,
            "flag": data[t]["flag"],
            "simulated": data[t]["simulated"],
            "source": data[t]["sources"][0]["url"],
        }
        for t in w.tricks
    ]


def analytic_tricks(w: Workload) -> list[tuple[str, str]]:
    """The tricks on in ``w`` that the simulator cannot run, each with its first source's URL:
    their figures are the rule's alone (the plan says so)."""
    if not w.tricks:
        return []  # the reference step: the data file is not read
    data = tricks_data()["tricks"]
    return [(t, data[t]["sources"][0]["url"]) for t in w.tricks if not data[t]["simulated"]]


def in_bwd_gradient_bytes(layer_grads: int, trainable: tuple[Tensor, ...]) -> int:
    """The gradients live at once when each parameter is stepped as its gradient is made
    (torchtune's ``optimizer_in_bwd``): one layer's (``layer_grads``) while the backward goes
    down the layers, or the largest single parameter's (the embedding, the LM head)."""
    largest = max((t.numel * DTYPE_BYTES[t.dtype] for t in trainable), default=0)
    return max(layer_grads, largest)
