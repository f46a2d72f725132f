"""FLOPs per token of a training step, a prefill and a decode step, from the model's shapes.

Conventions (PaLM, Chowdhery et al. 2022, Appendix B; Megatron-LM, Narayanan et al. 2021):

- A matmul with a weight of ``n`` elements costs ``2·n`` FLOPs per token forward (one multiply
  and one add per weight). The backward costs twice the forward: one product for the gradient
  of the input, one for the gradient of the weight.
- "Matmul weights" are every weight of two or more dimensions except the embedding tables
  (a lookup, not a matmul): linear layers, the router, fused expert tensors (only the
  ``num_experts_per_tok`` experts a token is routed to) and the LM head. A tied LM head (GPT-2,
  Gemma; BERT's masked-LM decoder) is the embedding matrix used as a matmul, so it is counted.
  Norms, biases, activations, softmax and the loss are left out (well under 1 % for these models).
- Attention per layer per token, forward: ``2·c·H·d_qk`` for the scores ``QKᵀ`` and
  ``2·c·H·d_v`` for the weighted sum of values, where ``c`` is the context the token attends
  over and ``H`` the query heads (GQA/MQA share keys and values but every query head still does
  its products). For causal training and prefill ``c = seq`` — the full square, **not** halved for
  the causal mask, as PaLM's ``6N + 12·L·H·Q·T`` and Megatron's MFU formulas count it, so that
  published MFU figures apply. Sliding-window layers use ``c = min(seq, window)``. MLA (DeepSeek)
  uses ``d_qk = qk_nope_head_dim + qk_rope_head_dim`` and ``d_v = v_head_dim``.
- Full training = 3 x forward. Gradient checkpointing (transformers, per decoder layer) adds one
  more forward of the decoder layers (not the LM head): ~8N instead of 6N.
- LoRA / QLoRA: the frozen base needs its forward and the input-gradient product but no
  weight-gradient product (~4N); each adapter ``B·A`` on a ``(out, in)`` linear has
  ``r·(in + out)`` weights and costs 3 x its forward (6 x its parameters) like any trained matmul.
"""

from __future__ import annotations

import functools

from gpuwise.models.lora import lora_linears
from gpuwise.models.spec import ModelSpec, ParamBlock
from gpuwise.record import record
from gpuwise.workload import Workload

_TABLE_PARTS = ("embedding", "position_embedding")


@record
class TrainFlops:
    """FLOPs per trained token of one training step, by part (each forward + backward).

    ``matmul``: the base model's weight matmuls; ``attention``: score and value products;
    ``adapters``: LoRA's A and B matmuls (0 for full fine-tuning); ``recompute``: the extra forward
    gradient checkpointing runs (0 without it).
    """

    matmul: float
    attention: float
    adapters: float
    recompute: float

    @property
    def model(self) -> float:
        """FLOPs the step needs, without recompute: the numerator of MFU."""
        return self.matmul + self.attention + self.adapters

    @property
    def total(self) -> float:
        """FLOPs the GPU executes per token, recompute included."""
        return self.model + self.recompute


@record
class ForwardFlops:
    """FLOPs of one forward, per token: weight matmuls (LM head apart) and attention."""

    matmul: float  # every matmul weight but the LM head
    head: float  # the LM head (or the masked-LM decoder), once per position it is applied to
    attention: float

    @property
    def total(self) -> float:
        return self.matmul + self.head + self.attention


def _is_matmul(block: ParamBlock) -> bool:
    return len(block.shape) >= 2 and block.part not in _TABLE_PARTS


def _active_weights(block: ParamBlock, experts_per_token: int) -> int:
    """Weight elements (no bias) one token multiplies by: k of E experts for expert tensors."""
    n = block.weight_numel * block.count
    if block.experts:
        n = n // block.experts * min(experts_per_token, block.experts)
    return n


def _tied_head_weights(spec: ModelSpec, blocks: tuple[ParamBlock, ...]) -> int:
    """Elements of the LM head when it is the (tied) embedding matrix, else 0."""
    if any(b.part == "lm_head" for b in blocks):
        return 0
    has_mlm = any(b.part == "mlm_head" for b in blocks)
    if not (spec.tie_word_embeddings or has_mlm):
        return 0
    table = next((b for b in blocks if b.part == "embedding"), None)
    return table.weight_numel if table is not None else 0


def _weights(spec: ModelSpec, blocks: tuple[ParamBlock, ...]) -> tuple[int, int]:
    """(body, head) matmul weight elements one token uses."""
    k = spec.num_experts_per_tok
    body = head = 0
    for b in blocks:
        if not _is_matmul(b):
            continue
        # The masked-LM head's transform (dense + norm) runs at every position, like the body.
        if b.part == "lm_head":
            head += _active_weights(b, k)
        else:
            body += _active_weights(b, k)
    return body, head + _tied_head_weights(spec, blocks)


def attention_flops(spec: ModelSpec, context: int) -> float:
    """Forward FLOPs of attention for one token attending over ``context`` tokens, all layers."""
    d_qk, d_v = spec.head_dims
    per_position = 2.0 * spec.num_attention_heads * (d_qk + d_v)
    sliding = spec.sliding_layers
    window = min(context, spec.sliding_window or context)
    full = spec.num_layers - sliding
    return per_position * (full * context + sliding * window)


def forward_flops(
    spec: ModelSpec, context: int, blocks: tuple[ParamBlock, ...] | None = None
) -> ForwardFlops:
    """Forward FLOPs per token at ``context`` (``seq`` for training and prefill, the cache length
    for a decode step), with the full-square attention convention."""
    body, head = _weights(spec, spec.blocks if blocks is None else blocks)
    return ForwardFlops(2.0 * body, 2.0 * head, attention_flops(spec, context))


@functools.lru_cache(maxsize=256)
def adapter_params(spec: ModelSpec, workload: Workload) -> int:
    """LoRA weights a token passes through: ``r·(in + out)`` per targeted linear (A and B)."""
    if not workload.is_lora:
        return 0
    return sum(
        workload.lora_rank * (b.in_features + b.out_features) * b.count
        for b in lora_linears(spec, workload.lora_targets)
    )


@functools.lru_cache(maxsize=256)
def train_flops_per_token(spec: ModelSpec, workload: Workload) -> TrainFlops:
    """FLOPs per token of the reference training step (``spec.train_blocks``, ``workload.seq``).

    Full: 3 x forward. LoRA/QLoRA: 2 x forward for the frozen base (no weight gradients), 3 x for
    attention (its inputs still need gradients) and 3 x for the adapters. Checkpointing: one more
    forward of the decoder layers (LM head excluded: transformers checkpoints each layer).
    ``--loss chunked``: one more forward of the LM head (each chunk is recomputed).
    """
    fwd = forward_flops(spec, workload.seq, spec.train_blocks)
    adapters_fwd = 2.0 * adapter_params(spec, workload)
    base_factor = 2.0 if workload.is_lora else 3.0
    recompute = 0.0
    if workload.grad_checkpointing:
        recompute = fwd.matmul + fwd.attention + adapters_fwd
    if workload.loss == "chunked":  # each chunk's logits are made again in backward
        recompute += fwd.head
    return TrainFlops(
        matmul=base_factor * (fwd.matmul + fwd.head),
        attention=3.0 * fwd.attention,
        adapters=3.0 * adapters_fwd,
        recompute=recompute,
    )


def prefill_flops(spec: ModelSpec, seq: int) -> float:
    """FLOPs of a prefill of one sequence of ``seq`` tokens: every position through the body,
    the LM head at the last position only (``logits_to_keep=1``)."""
    fwd = forward_flops(spec, seq)
    return seq * (fwd.matmul + fwd.attention) + fwd.head


def decode_flops(spec: ModelSpec, context: int) -> float:
    """FLOPs to generate one token of one sequence whose cache holds ``context`` tokens."""
    return forward_flops(spec, context).total
