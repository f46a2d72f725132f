"""The domain types for a model: its parameter blocks and its shapes."""

from __future__ import annotations

import math

from gpuwise.i18n import Message
from gpuwise.record import field, record

TYPE_CHECKING = False
if TYPE_CHECKING:
    from gpuwise.i18n import Text

#: Who counted a model's parameters when gpuwise's own rules did.
RULES_COUNTED = Message("models.counted_by.rules")

#: Parts a parameter can belong to, in display order.
PARTS = (
    "embedding",
    "position_embedding",
    "attention",
    "mlp",
    "router",
    "experts",
    "norm",
    "lm_head",
    "pooler",
    "mlm_head",
)


@record
class ParamBlock:
    """One parameter tensor of the model, repeated ``count`` times (once per layer, say).

    ``shape`` is the weight's shape as transformers creates it (``(out, in)`` for ``nn.Linear``,
    ``(in, out)`` for GPT-2's ``Conv1D``, ``(experts, out, in)`` for fused expert weights).
    ``bias`` is the number of bias elements that go with it (0 when there is none).
    ``linear`` marks an ``nn.Linear`` / ``Conv1D`` module: what LoRA's ``all-linear`` targets and
    what bitsandbytes quantizes (fused 3-D expert tensors are plain parameters, so are not).
    ``experts`` is the number of experts stacked in dimension 0 (0 for a dense tensor); a token
    uses ``num_experts_per_tok`` of them. ``dtype`` is set when transformers fixes the
    tensor's dtype whatever the model's (DeepSeek-V3's router is always float32).
    """

    name: str
    part: str
    shape: tuple[int, ...]
    count: int = 1
    bias: int = 0
    linear: bool = False
    experts: int = 0
    dtype: str | None = None
    transposed: bool = False  # GPT-2's Conv1D stores its weight as (in, out)

    @property
    def out_features(self) -> int:
        """Output rows of a linear weight (per expert for stacked experts)."""
        return self.shape[-1] if self.transposed else self.shape[-2]

    @property
    def in_features(self) -> int:
        """Input columns of a linear weight (per expert for stacked experts)."""
        return self.shape[-2] if self.transposed else self.shape[-1]

    @property
    def weight_numel(self) -> int:
        """Elements of one instance's weight (no bias)."""
        return math.prod(self.shape)

    @property
    def numel(self) -> int:
        """Elements of all instances, weights and biases."""
        return (self.weight_numel + self.bias) * self.count

    def active_numel(self, experts_per_token: int) -> int:
        """Elements one token uses: all of a dense block, k of E experts of an expert block."""
        if not self.experts:
            return self.numel
        return self.numel // self.experts * min(experts_per_token, self.experts)


@record
class ModelSpec:
    """A model's shapes and exact parameter blocks, as transformers would build it.

    ``blocks`` is the model that ``AutoModelForCausalLM`` builds (``AutoModel`` for encoder-only
    models); ``train_blocks`` is the model a plan trains (the same for decoders; with the
    masked-LM head and without the pooler for encoders).
    """

    name: str
    model_type: str
    source: Text
    kind: str  # "decoder" or "encoder"
    vocab_size: int
    hidden_size: int
    num_layers: int
    num_attention_heads: int
    num_kv_heads: int
    head_dim: int
    intermediate_size: int
    max_position_embeddings: int | None
    tie_word_embeddings: bool
    attention: str  # "mha", "gqa", "mqa" or "mla"
    mlp: str  # "gated" or "plain"
    norm: str  # "rmsnorm" or "layernorm"
    activation: str
    blocks: tuple[ParamBlock, ...]
    train_blocks: tuple[ParamBlock, ...]
    num_experts: int = 0
    num_experts_per_tok: int = 0
    moe_layers: int = 0
    sliding_window: int | None = None
    layer_types: tuple[str, ...] = ()
    kv_lora_rank: int | None = None
    qk_rope_head_dim: int | None = None
    v_head_dim: int | None = None
    dtype: str | None = None
    #: What was assumed (a bare size's shapes) and who counted the parameters: said to people,
    #: in their language (:class:`~gpuwise.i18n.Message`), or plain text.
    assumptions: tuple[Text, ...] = ()
    counted_by: Text = RULES_COUNTED
    extra: dict[str, object] = field(default_factory=dict, compare=False)

    @property
    def params(self) -> int:
        """Exact parameter count, as ``sum(p.numel() for p in model.parameters())``."""
        return sum(b.numel for b in self.blocks)

    @property
    def trained_params(self) -> int:
        """Parameters of the model a plan trains (masked-LM model for encoders)."""
        return sum(b.numel for b in self.train_blocks)

    @property
    def active_params(self) -> int:
        """Parameters one token passes through (MoE: only its ``num_experts_per_tok`` experts)."""
        return sum(b.active_numel(self.num_experts_per_tok) for b in self.blocks)

    @property
    def is_moe(self) -> bool:
        return self.num_experts > 0 and self.moe_layers > 0

    @property
    def sliding_layers(self) -> int:
        """How many layers attend over a sliding window rather than the whole context.

        ``layer_types`` when the config lists them; else transformers' defaults: Gemma 2
        alternates (sliding on even layers), Gemma 3 has ``sliding_window_pattern`` - 1 sliding
        layers in each group (default 6), and other families (Mistral, Phi-3) slide on every
        layer when a window is set.
        """
        if self.kind == "encoder":
            return 0
        if self.layer_types:
            return sum(1 for t in self.layer_types if t == "sliding_attention")
        if not self.sliding_window:
            return 0
        layers = self.num_layers
        if self.model_type == "gemma2":
            return (layers + 1) // 2
        if self.model_type in ("gemma3", "gemma3_text"):
            pattern = int(str(self.extra.get("sliding_window_pattern", 6)))
            return sum(1 for i in range(layers) if (i + 1) % pattern)
        return layers

    @property
    def head_dims(self) -> tuple[int, int]:
        """(d_qk, d_v): per-head widths of queries/keys and of values (MLA: nope + rope,
        ``v_head_dim``)."""
        if self.attention == "mla":
            nope = int(str(self.extra.get("qk_nope_head_dim", 0)))
            rope = self.qk_rope_head_dim or 0
            d_qk = nope + rope if nope else self.head_dim
            return d_qk, self.v_head_dim or self.head_dim
        return self.head_dim, self.head_dim

    def params_by_part(self, blocks: tuple[ParamBlock, ...] | None = None) -> dict[str, int]:
        """Parameter count per part, in :data:`PARTS` order, parts with no parameters left out."""
        totals = dict.fromkeys(PARTS, 0)
        for b in self.blocks if blocks is None else blocks:
            totals[b.part] += b.numel
        return {part: n for part, n in totals.items() if n}

    def linear_params(self, blocks: tuple[ParamBlock, ...] | None = None) -> int:
        """Parameters inside ``nn.Linear`` / ``Conv1D`` weights (not their biases)."""
        return sum(
            b.weight_numel * b.count
            for b in (self.blocks if blocks is None else blocks)
            if b.linear
        )
