"""Per-family rules: the exact parameter tensors transformers creates for a config.

Each rule mirrors the ``__init__`` of the model classes in transformers
(``transformers/models/<type>/modeling_<type>.py``, checked against 5.24): which ``nn.Linear``
modules exist, their shapes and biases, the norms, how experts are stacked, when the LM head is
tied to the input embedding. ``tests/models/test_param_counts.py`` builds the real models on the
meta device from many configs and asserts the counts agree exactly.

A rule raises :class:`UnsupportedVariant` for a config option it does not model; the loader then
falls back to transformers itself (when installed) rather than return a wrong number.
"""

from __future__ import annotations

from collections.abc import Callable

from gpuwise.errors import GpuwiseError
from gpuwise.i18n import Message
from gpuwise.models.config_reader import ConfigReader
from gpuwise.models.spec import ParamBlock
from gpuwise.record import field, record


class UnsupportedVariant(Exception):
    """The config uses an option this rule does not model (the reason says which)."""


@record(frozen=False)
class Shape:
    """What a rule found out about the model besides its blocks."""

    kind: str
    vocab_size: int
    hidden_size: int
    num_layers: int
    num_attention_heads: int
    num_kv_heads: int
    head_dim: int
    intermediate_size: int
    max_position_embeddings: int | None
    tie_word_embeddings: bool
    attention: str
    mlp: str
    norm: str
    activation: str
    blocks: list[ParamBlock]
    train_blocks: list[ParamBlock] | None = None
    num_experts: int = 0
    num_experts_per_tok: int = 0
    moe_layers: int = 0
    sliding_window: int | None = None
    layer_types: tuple[str, ...] = ()
    kv_lora_rank: int | None = None
    qk_rope_head_dim: int | None = None
    v_head_dim: int | None = None
    extra: dict[str, object] = field(default_factory=dict)


# Routers (``*TopKRouter``) hold a plain ``nn.Parameter``, not an ``nn.Linear``: LoRA's
# all-linear and bitsandbytes leave them alone.

# -- building blocks --------------------------------------------------------------------------


def _linear(name: str, part: str, in_f: int, out_f: int, count: int, bias: bool) -> ParamBlock:
    """An ``nn.Linear(in_f, out_f, bias)``: weight ``(out_f, in_f)``."""
    return ParamBlock(name, part, (out_f, in_f), count, out_f if bias else 0, linear=True)


def _norm(name: str, dim: int, count: int, bias: bool = False) -> ParamBlock:
    """An RMSNorm (weight only) or LayerNorm (weight and bias) over ``dim``."""
    return ParamBlock(name, "norm", (dim,), count, dim if bias else 0)


def _attention_kind(heads: int, kv_heads: int) -> str:
    if kv_heads == heads:
        return "mha"
    return "mqa" if kv_heads == 1 else "gqa"


def _heads(c: ConfigReader) -> tuple[int, int, int, int]:
    """hidden, heads, kv_heads, head_dim with transformers' defaults and checks."""
    hidden = c.get_int("hidden_size")
    heads = c.get_int("num_attention_heads")
    kv_heads = c.get_int("num_key_value_heads", default=heads)
    if heads % kv_heads:
        raise GpuwiseError(
            Message("models.kv_heads_groups", where=c.where, heads=heads, kv_heads=kv_heads)
        )
    # transformers: config.head_dim when given, else the class default (Qwen3 128, Gemma 256,
    # GLM-4 128), else hidden_size // num_attention_heads.
    head_dim = c.get_int("head_dim", default=hidden // heads if hidden >= heads else 0)
    if head_dim < 1:
        raise GpuwiseError(
            Message("models.hidden_below_heads", where=c.where, hidden=hidden, heads=heads)
        )
    return hidden, heads, kv_heads, head_dim


def _embedding_and_head(
    c: ConfigReader, vocab: int, hidden: int, tie_default: bool, prefix: str = "model"
) -> tuple[ParamBlock, ParamBlock | None, bool]:
    tie = c.get_bool("tie_word_embeddings", tie_default)
    embed = ParamBlock(f"{prefix}.embed_tokens", "embedding", (vocab, hidden))
    head = None if tie else ParamBlock("lm_head", "lm_head", (vocab, hidden), linear=True)
    return embed, head, tie


def _gated_mlp(
    prefix: str, hidden: int, inter: int, count: int, bias: bool = False, part: str = "mlp"
) -> list[ParamBlock]:
    return [
        _linear(f"{prefix}.gate_proj", part, hidden, inter, count, bias),
        _linear(f"{prefix}.up_proj", part, hidden, inter, count, bias),
        _linear(f"{prefix}.down_proj", part, inter, hidden, count, bias),
    ]


def _fused_experts(
    prefix: str, experts: int, hidden: int, inter: int, count: int
) -> list[ParamBlock]:
    """transformers 5 stacks experts: ``gate_up_proj (E, 2I, H)`` and ``down_proj (E, H, I)``."""
    return [
        ParamBlock(
            f"{prefix}.gate_up_proj",
            "experts",
            (experts, 2 * inter, hidden),
            count,
            experts=experts,
        ),
        ParamBlock(
            f"{prefix}.down_proj", "experts", (experts, hidden, inter), count, experts=experts
        ),
    ]


def _qkvo(
    prefix: str,
    hidden: int,
    heads: int,
    kv_heads: int,
    head_dim: int,
    count: int,
    qkv_bias: bool,
    o_bias: bool,
) -> list[ParamBlock]:
    q_out, kv_out = heads * head_dim, kv_heads * head_dim
    return [
        _linear(f"{prefix}.q_proj", "attention", hidden, q_out, count, qkv_bias),
        _linear(f"{prefix}.k_proj", "attention", hidden, kv_out, count, qkv_bias),
        _linear(f"{prefix}.v_proj", "attention", hidden, kv_out, count, qkv_bias),
        _linear(f"{prefix}.o_proj", "attention", q_out, hidden, count, o_bias),
    ]


def _sparse_layers(c: ConfigReader, layers: int, experts: int) -> int:
    """Qwen-MoE rule: layer i is sparse unless in mlp_only_layers or (i+1) % step != 0."""
    if experts == 0:
        return 0
    step = c.get_int("decoder_sparse_step")
    dense_only = set(c.int_list("mlp_only_layers"))
    return sum(1 for i in range(layers) if i not in dense_only and (i + 1) % step == 0)


def _sliding_window(c: ConfigReader) -> int | None:
    """The sliding-window size the file gives (0, null or use_sliding_window=false: none)."""
    if c.raw.get("use_sliding_window") is False or not c.has("sliding_window"):
        return None
    return c.opt_int("sliding_window", minimum=0) or None


def _layer_types(c: ConfigReader, layers: int) -> tuple[str, ...]:
    types = c.str_list("layer_types")
    if types and len(types) != layers:
        raise GpuwiseError(
            Message("models.layer_types", where=c.where, entries=len(types), layers=layers)
        )
    return tuple(types)


# -- the Llama-like decoder -------------------------------------------------------------------


@record
class _Layout:
    """How a Llama-like decoder family differs from Llama."""

    qkv_bias: str = "attention_bias"  # config key, "always" or "never"
    o_bias: str = "attention_bias"
    mlp_bias: str = "mlp_bias"
    fused_qkv: bool = False  # Phi-3: one qkv_proj
    fused_gate_up: bool = False  # Phi-3, GLM-4: one gate_up_proj
    qk_norm: bool = False  # Qwen3, Gemma 3: RMSNorm over head_dim on q and k
    norms_per_layer: int = 2
    extra_norm_names: tuple[str, ...] = ()
    tie_default: bool = False
    act_key: str = "hidden_act"


def _flag(c: ConfigReader, rule: str) -> bool:
    if rule == "always":
        return True
    if rule == "never":
        return False
    return c.get_bool(rule)


def _decoder(
    c: ConfigReader, lay: _Layout, moe: Callable[..., tuple[list[ParamBlock], dict]] | None = None
) -> Shape:
    vocab = c.get_int("vocab_size")
    layers = c.get_int("num_hidden_layers")
    hidden, heads, kv_heads, head_dim = _heads(c)
    inter = c.get_int("intermediate_size")
    embed, head, tie = _embedding_and_head(c, vocab, hidden, lay.tie_default)
    p = "model.layers.*"
    blocks = [embed]
    q_out, kv_out = heads * head_dim, kv_heads * head_dim
    qkv_bias, o_bias = _flag(c, lay.qkv_bias), _flag(c, lay.o_bias)
    if lay.fused_qkv:
        blocks.append(
            _linear(
                f"{p}.self_attn.qkv_proj", "attention", hidden, q_out + 2 * kv_out, layers, qkv_bias
            )
        )
        blocks.append(_linear(f"{p}.self_attn.o_proj", "attention", q_out, hidden, layers, o_bias))
    else:
        blocks += _qkvo(
            f"{p}.self_attn", hidden, heads, kv_heads, head_dim, layers, qkv_bias, o_bias
        )
    if lay.qk_norm:
        blocks.append(_norm(f"{p}.self_attn.q_norm", head_dim, layers))
        blocks.append(_norm(f"{p}.self_attn.k_norm", head_dim, layers))

    info: dict = {"num_experts": 0, "num_experts_per_tok": 0, "moe_layers": 0}
    if moe is None:
        mlp_bias = _flag(c, lay.mlp_bias)
        if lay.fused_gate_up:
            blocks.append(
                _linear(f"{p}.mlp.gate_up_proj", "mlp", hidden, 2 * inter, layers, mlp_bias)
            )
            blocks.append(_linear(f"{p}.mlp.down_proj", "mlp", inter, hidden, layers, mlp_bias))
        else:
            blocks += _gated_mlp(f"{p}.mlp", hidden, inter, layers, mlp_bias)
    else:
        mlp_blocks, info = moe(c, hidden, inter, layers)
        blocks += mlp_blocks

    names = ("input_layernorm", "post_attention_layernorm", *lay.extra_norm_names)
    assert len(names) == lay.norms_per_layer
    blocks += [_norm(f"{p}.{n}", hidden, layers) for n in names]
    blocks.append(_norm("model.norm", hidden, 1))
    if head is not None:
        blocks.append(head)
    return Shape(
        kind="decoder",
        vocab_size=vocab,
        hidden_size=hidden,
        num_layers=layers,
        num_attention_heads=heads,
        num_kv_heads=kv_heads,
        head_dim=head_dim,
        intermediate_size=inter,
        max_position_embeddings=c.opt_int("max_position_embeddings"),
        tie_word_embeddings=tie,
        attention=_attention_kind(heads, kv_heads),
        mlp="gated",
        norm="rmsnorm",
        activation=c.get_str(lay.act_key, "silu"),
        blocks=blocks,
        sliding_window=_sliding_window(c),
        layer_types=_layer_types(c, layers),
        **info,
    )


# -- MoE variants -----------------------------------------------------------------------------


def _top_k(c: ConfigReader, experts: int, experts_key: str) -> int:
    """``num_experts_per_tok``: at most the ``experts`` there are to route a token to (a
    router's top-k cannot pick more experts than there are; active parameters would exceed
    the model's)."""
    k = c.get_int("num_experts_per_tok")
    if k > experts:
        raise GpuwiseError(
            Message(
                "models.top_k",
                where=c.where,
                k=k,
                experts=experts,
                experts_key=experts_key,
                model_type=c.model_type,
            )
        )
    return k


def _mixtral_moe(
    c: ConfigReader, hidden: int, inter: int, layers: int
) -> tuple[list[ParamBlock], dict]:
    experts = c.get_int("num_local_experts")
    k = _top_k(c, experts, "num_local_experts")
    p = "model.layers.*.mlp"
    blocks = [ParamBlock(f"{p}.gate", "router", (experts, hidden), layers)]
    blocks += _fused_experts(f"{p}.experts", experts, hidden, inter, layers)
    return blocks, {"num_experts": experts, "num_experts_per_tok": k, "moe_layers": layers}


def _qwen_moe(shared: bool) -> Callable[..., tuple[list[ParamBlock], dict]]:
    def build(
        c: ConfigReader, hidden: int, inter: int, layers: int
    ) -> tuple[list[ParamBlock], dict]:
        experts = c.get_int("num_experts", minimum=0)
        moe_inter = c.get_int("moe_intermediate_size")
        sparse = _sparse_layers(c, layers, experts)
        # without sparse layers (no experts) the top-k routes nothing
        k = _top_k(c, experts, "num_experts") if sparse else c.get_int("num_experts_per_tok")
        dense = layers - sparse
        p = "model.layers.*.mlp"
        blocks: list[ParamBlock] = []
        if sparse:
            blocks.append(ParamBlock(f"{p}.gate", "router", (experts, hidden), sparse))
            blocks += _fused_experts(f"{p}.experts", experts, hidden, moe_inter, sparse)
            if shared:
                shared_inter = c.get_int("shared_expert_intermediate_size")
                blocks += _gated_mlp(f"{p}.shared_expert", hidden, shared_inter, sparse)
                blocks.append(
                    _linear(f"{p}.shared_expert_gate", "router", hidden, 1, sparse, False)
                )
        if dense:
            blocks += _gated_mlp(p, hidden, inter, dense)
        return blocks, {
            "num_experts": experts if sparse else 0,
            "num_experts_per_tok": k,
            "moe_layers": sparse,
        }

    return build


# -- the families -----------------------------------------------------------------------------


def _llama(c: ConfigReader) -> Shape:
    return _decoder(c, _Layout())


def _mistral(c: ConfigReader) -> Shape:
    return _decoder(c, _Layout(qkv_bias="never", o_bias="never", mlp_bias="never"))


def _mixtral(c: ConfigReader) -> Shape:
    return _decoder(c, _Layout(qkv_bias="never", o_bias="never", mlp_bias="never"), _mixtral_moe)


def _qwen2(c: ConfigReader) -> Shape:
    return _decoder(c, _Layout(qkv_bias="always", o_bias="never", mlp_bias="never"))


def _qwen2_moe(c: ConfigReader) -> Shape:
    return _decoder(
        c, _Layout(qkv_bias="qkv_bias", o_bias="never", mlp_bias="never"), _qwen_moe(shared=True)
    )


def _qwen3(c: ConfigReader) -> Shape:
    return _decoder(c, _Layout(mlp_bias="never", qk_norm=True))


def _qwen3_moe(c: ConfigReader) -> Shape:
    return _decoder(c, _Layout(mlp_bias="never", qk_norm=True), _qwen_moe(shared=False))


def _gemma(c: ConfigReader) -> Shape:
    return _decoder(c, _Layout(mlp_bias="never", tie_default=True))


_GEMMA2_NORMS = ("pre_feedforward_layernorm", "post_feedforward_layernorm")


def _gemma2(c: ConfigReader) -> Shape:
    return _decoder(
        c,
        _Layout(
            mlp_bias="never",
            tie_default=True,
            norms_per_layer=4,
            extra_norm_names=_GEMMA2_NORMS,
            act_key="hidden_activation",
        ),
    )


def _gemma3_text(c: ConfigReader) -> Shape:
    return _decoder(
        c,
        _Layout(
            mlp_bias="never",
            tie_default=True,
            norms_per_layer=4,
            extra_norm_names=_GEMMA2_NORMS,
            qk_norm=True,
            act_key="hidden_activation",
        ),
    )


def _internlm3(c: ConfigReader) -> Shape:
    """InternLM3: transformers builds it as ``LlamaForCausalLM``; the file names Llama's biases
    ``qkv_bias`` (q, k, v and o projections) and ``bias`` (the MLP), which transformers requires
    to be equal."""
    attention, mlp = c.get_bool("attention_bias"), c.get_bool("mlp_bias")
    if attention != mlp:
        raise GpuwiseError(
            Message(
                "models.internlm3_bias",
                where=c.where,
                attention=str(attention).lower(),
                mlp=str(mlp).lower(),
            )
        )
    return _decoder(c, _Layout())


def _phi3(c: ConfigReader) -> Shape:
    return _decoder(
        c,
        _Layout(
            qkv_bias="never", o_bias="never", mlp_bias="never", fused_qkv=True, fused_gate_up=True
        ),
    )


def _glm4(c: ConfigReader) -> Shape:
    return _decoder(
        c,
        _Layout(
            qkv_bias="attention_bias",
            o_bias="never",
            mlp_bias="never",
            fused_gate_up=True,
            norms_per_layer=4,
            extra_norm_names=("post_self_attn_layernorm", "post_mlp_layernorm"),
        ),
    )


def _deepseek_v3(c: ConfigReader) -> Shape:
    """DeepSeek-V3: multi-head latent attention and a routed + shared-expert MoE.

    Attention (``DeepseekV3Attention``): ``q_proj`` (or ``q_a_proj`` + ``q_a_layernorm`` +
    ``q_b_proj`` when ``q_lora_rank`` is set), ``kv_a_proj_with_mqa`` to
    ``kv_lora_rank + qk_rope_head_dim``, ``kv_a_layernorm``, ``kv_b_proj`` to
    ``heads * (qk_nope_head_dim + v_head_dim)``, ``o_proj``. Layers from ``first_k_dense_replace``
    on are MoE: router ``gate`` (a parameter plus a buffer for the score-correction bias),
    fused experts of ``moe_intermediate_size``, and ``shared_experts`` of
    ``moe_intermediate_size * n_shared_experts``. The multi-token-prediction layers
    (``num_nextn_predict_layers``) are not built by transformers and not counted.
    """
    vocab = c.get_int("vocab_size")
    layers = c.get_int("num_hidden_layers")
    hidden = c.get_int("hidden_size")
    heads = c.get_int("num_attention_heads")
    inter = c.get_int("intermediate_size")
    q_rank = c.opt_int("q_lora_rank")
    kv_rank = c.get_int("kv_lora_rank")
    rope, nope, v_dim = (
        c.get_int("qk_rope_head_dim"),
        c.get_int("qk_nope_head_dim"),
        c.get_int("v_head_dim"),
    )
    bias = c.get_bool("attention_bias")
    experts = c.get_int("n_routed_experts")
    moe_inter = c.get_int("moe_intermediate_size")
    shared = c.get_int("n_shared_experts", minimum=0)
    first_dense = min(c.get_int("first_k_dense_replace", minimum=0), layers)
    sparse = layers - first_dense
    # without sparse layers the top-k routes nothing
    k = _top_k(c, experts, "n_routed_experts") if sparse else c.get_int("num_experts_per_tok")
    embed, head, tie = _embedding_and_head(c, vocab, hidden, False)

    p = "model.layers.*.self_attn"
    qk_dim = nope + rope
    blocks = [embed]
    if q_rank is None:
        blocks.append(_linear(f"{p}.q_proj", "attention", hidden, heads * qk_dim, layers, False))
    else:
        blocks += [
            _linear(f"{p}.q_a_proj", "attention", hidden, q_rank, layers, bias),
            _norm(f"{p}.q_a_layernorm", q_rank, layers),
            _linear(f"{p}.q_b_proj", "attention", q_rank, heads * qk_dim, layers, False),
        ]
    blocks += [
        _linear(f"{p}.kv_a_proj_with_mqa", "attention", hidden, kv_rank + rope, layers, bias),
        _norm(f"{p}.kv_a_layernorm", kv_rank, layers),
        _linear(f"{p}.kv_b_proj", "attention", kv_rank, heads * (nope + v_dim), layers, False),
        _linear(f"{p}.o_proj", "attention", heads * v_dim, hidden, layers, bias),
    ]
    m = "model.layers.*.mlp"
    if first_dense:
        blocks += _gated_mlp(m, hidden, inter, first_dense)
    if sparse:
        # DeepseekV3TopkRouter creates its weight in float32 whatever the model's dtype.
        blocks.append(ParamBlock(f"{m}.gate", "router", (experts, hidden), sparse, dtype="float32"))
        blocks += _fused_experts(f"{m}.experts", experts, hidden, moe_inter, sparse)
        if shared:
            blocks += _gated_mlp(f"{m}.shared_experts", hidden, moe_inter * shared, sparse)
    blocks += [
        _norm(f"model.layers.*.{n}", hidden, layers)
        for n in ("input_layernorm", "post_attention_layernorm")
    ]
    blocks.append(_norm("model.norm", hidden, 1))
    if head is not None:
        blocks.append(head)
    return Shape(
        kind="decoder",
        vocab_size=vocab,
        hidden_size=hidden,
        num_layers=layers,
        num_attention_heads=heads,
        num_kv_heads=heads,
        head_dim=qk_dim,
        intermediate_size=inter,
        max_position_embeddings=c.opt_int("max_position_embeddings"),
        tie_word_embeddings=tie,
        attention="mla",
        mlp="gated",
        norm="rmsnorm",
        activation=c.get_str("hidden_act", "silu"),
        blocks=blocks,
        num_experts=experts if sparse else 0,
        num_experts_per_tok=k,
        moe_layers=sparse,
        kv_lora_rank=kv_rank,
        qk_rope_head_dim=rope,
        v_head_dim=v_dim,
        extra={
            "q_lora_rank": q_rank,
            "qk_nope_head_dim": nope,
            "n_shared_experts": shared,
            "first_k_dense_replace": first_dense,
        },
    )


def _classic(
    c: ConfigReader,
    kind: str,
    sizes: tuple[int, int, int, int, int],
    positions: int | None,
    tie: bool,
    activation: str,
    blocks: list[ParamBlock],
    train_blocks: list[ParamBlock] | None = None,
    names: tuple[str, str] = ("hidden_size", "num_attention_heads"),
) -> Shape:
    """The Shape of a classic transformer (GPT-2, GPT-NeoX, BERT): multi-head attention with
    head_dim = hidden / heads, LayerNorms, a plain two-layer MLP. ``sizes`` is
    (vocab, hidden, layers, heads, intermediate)."""
    vocab, hidden, layers, heads, inter = sizes
    if hidden % heads:
        raise GpuwiseError(
            Message(
                "models.hidden_heads_multiple",
                where=c.where,
                hidden_key=names[0],
                hidden=hidden,
                heads_key=names[1],
                heads=heads,
            )
        )
    return Shape(
        kind=kind,
        vocab_size=vocab,
        hidden_size=hidden,
        num_layers=layers,
        num_attention_heads=heads,
        num_kv_heads=heads,
        head_dim=hidden // heads,
        intermediate_size=inter,
        max_position_embeddings=positions,
        tie_word_embeddings=tie,
        attention="mha",
        mlp="plain",
        norm="layernorm",
        activation=activation,
        blocks=blocks,
        train_blocks=train_blocks,
    )


def _gpt2(c: ConfigReader) -> Shape:
    """GPT-2: learned positions, LayerNorms with bias, ``Conv1D`` (weights stored ``(in, out)``)."""
    if c.get_bool("add_cross_attention"):
        raise UnsupportedVariant("gpt2 with add_cross_attention")
    vocab = c.get_int("vocab_size")
    hidden = c.get_int("n_embd")
    layers = c.get_int("n_layer")
    heads = c.get_int("n_head")
    positions = c.get_int("n_positions")
    inner = c.get_int("n_inner", default=4 * hidden)
    tie = c.get_bool("tie_word_embeddings", True)
    p = "transformer.h.*"

    def conv1d(name: str, part: str, in_f: int, out_f: int) -> ParamBlock:
        return ParamBlock(name, part, (in_f, out_f), layers, out_f, linear=True, transposed=True)

    blocks = [
        ParamBlock("transformer.wte", "embedding", (vocab, hidden)),
        ParamBlock("transformer.wpe", "position_embedding", (positions, hidden)),
        _norm(f"{p}.ln_1", hidden, layers, bias=True),
        conv1d(f"{p}.attn.c_attn", "attention", hidden, 3 * hidden),
        conv1d(f"{p}.attn.c_proj", "attention", hidden, hidden),
        _norm(f"{p}.ln_2", hidden, layers, bias=True),
        conv1d(f"{p}.mlp.c_fc", "mlp", hidden, inner),
        conv1d(f"{p}.mlp.c_proj", "mlp", inner, hidden),
        _norm("transformer.ln_f", hidden, 1, bias=True),
    ]
    if not tie:
        blocks.append(ParamBlock("lm_head", "lm_head", (vocab, hidden), linear=True))
    return _classic(
        c,
        "decoder",
        (vocab, hidden, layers, heads, inner),
        positions,
        tie,
        c.get_str("activation_function", "gelu_new"),
        blocks,
        names=("n_embd", "n_head"),
    )


def _gpt_neox(c: ConfigReader) -> Shape:
    """GPT-NeoX / Pythia: fused ``query_key_value``, LayerNorms with bias, plain MLP."""
    vocab = c.get_int("vocab_size")
    hidden = c.get_int("hidden_size")
    layers = c.get_int("num_hidden_layers")
    heads = c.get_int("num_attention_heads")
    inter = c.get_int("intermediate_size")
    bias = c.get_bool("attention_bias", True)
    tie = c.get_bool("tie_word_embeddings", False)
    p = "gpt_neox.layers.*"
    blocks = [
        ParamBlock("gpt_neox.embed_in", "embedding", (vocab, hidden)),
        _norm(f"{p}.input_layernorm", hidden, layers, bias=True),
        _norm(f"{p}.post_attention_layernorm", hidden, layers, bias=True),
        _linear(f"{p}.attention.query_key_value", "attention", hidden, 3 * hidden, layers, bias),
        _linear(f"{p}.attention.dense", "attention", hidden, hidden, layers, bias),
        _linear(f"{p}.mlp.dense_h_to_4h", "mlp", hidden, inter, layers, True),
        _linear(f"{p}.mlp.dense_4h_to_h", "mlp", inter, hidden, layers, True),
        _norm("gpt_neox.final_layer_norm", hidden, 1, bias=True),
    ]
    if not tie:
        blocks.append(ParamBlock("lm_head", "lm_head", (vocab, hidden), linear=True))
    return _classic(
        c,
        "decoder",
        (vocab, hidden, layers, heads, inter),
        c.opt_int("max_position_embeddings"),
        tie,
        c.get_str("hidden_act", "gelu"),
        blocks,
    )


def _bert(c: ConfigReader) -> Shape:
    """BERT: ``BertModel`` (with pooler) is what ``AutoModel`` counts; a plan trains
    ``BertForMaskedLM``: no pooler, plus ``cls.predictions`` (transform dense + LayerNorm, an
    output bias of vocab size, and the decoder weight tied to the word embeddings)."""
    if c.get_str("position_embedding_type", "absolute") != "absolute":
        raise UnsupportedVariant("bert with relative position embeddings")
    vocab = c.get_int("vocab_size")
    hidden = c.get_int("hidden_size")
    layers = c.get_int("num_hidden_layers")
    heads = c.get_int("num_attention_heads")
    inter = c.get_int("intermediate_size")
    positions = c.get_int("max_position_embeddings")
    type_vocab = c.get_int("type_vocab_size", minimum=0)
    tie = c.get_bool("tie_word_embeddings", True)
    p = "encoder.layer.*"
    body = [
        ParamBlock("embeddings.word_embeddings", "embedding", (vocab, hidden)),
        ParamBlock("embeddings.position_embeddings", "position_embedding", (positions, hidden)),
        ParamBlock("embeddings.token_type_embeddings", "position_embedding", (type_vocab, hidden)),
        _norm("embeddings.LayerNorm", hidden, 1, bias=True),
        _linear(f"{p}.attention.self.query", "attention", hidden, hidden, layers, True),
        _linear(f"{p}.attention.self.key", "attention", hidden, hidden, layers, True),
        _linear(f"{p}.attention.self.value", "attention", hidden, hidden, layers, True),
        _linear(f"{p}.attention.output.dense", "attention", hidden, hidden, layers, True),
        _norm(f"{p}.attention.output.LayerNorm", hidden, layers, bias=True),
        _linear(f"{p}.intermediate.dense", "mlp", hidden, inter, layers, True),
        _linear(f"{p}.output.dense", "mlp", inter, hidden, layers, True),
        _norm(f"{p}.output.LayerNorm", hidden, layers, bias=True),
    ]
    pooler = _linear("pooler.dense", "pooler", hidden, hidden, 1, True)
    mlm = [
        _linear("cls.predictions.transform.dense", "mlm_head", hidden, hidden, 1, True),
        ParamBlock("cls.predictions.transform.LayerNorm", "mlm_head", (hidden,), 1, hidden),
        ParamBlock("cls.predictions.bias", "mlm_head", (vocab,)),
    ]
    if not tie:
        # Untied, the decoder keeps its own weight and its own bias (tied, transformers ties the
        # weight to the word embeddings and the bias to cls.predictions.bias).
        mlm.append(_linear("cls.predictions.decoder", "mlm_head", hidden, vocab, 1, True))
    return _classic(
        c,
        "encoder",
        (vocab, hidden, layers, heads, inter),
        positions,
        tie,
        c.get_str("hidden_act", "gelu"),
        [*body, pooler],
        train_blocks=body + mlm,
    )


Rule = Callable[[ConfigReader], Shape]

RULES: dict[str, Rule] = {
    "llama": _llama,
    "mistral": _mistral,
    "mixtral": _mixtral,
    "qwen2": _qwen2,
    "qwen2_moe": _qwen2_moe,
    "qwen3": _qwen3,
    "qwen3_moe": _qwen3_moe,
    "gemma": _gemma,
    "gemma2": _gemma2,
    "gemma3_text": _gemma3_text,
    "phi3": _phi3,
    "internlm3": _internlm3,
    "gpt2": _gpt2,
    "gpt_neox": _gpt_neox,
    "bert": _bert,
    "glm4": _glm4,
    "deepseek_v3": _deepseek_v3,
}

SUPPORTED_MODEL_TYPES: tuple[str, ...] = tuple(RULES)

_COMMON = (
    "vocab_size",
    "hidden_size",
    "intermediate_size",
    "num_hidden_layers",
    "num_attention_heads",
    "num_key_value_heads",
    "head_dim",
    "tie_word_embeddings",
    "max_position_embeddings",
    "attention_bias",
    "mlp_bias",
    "hidden_act",
    "hidden_activation",
    "sliding_window",
    "layer_types",
)

#: The config keys whose transformers defaults each rule may read (scripts/extract_hf_defaults.py).
FAMILY_KEYS: dict[str, tuple[str, ...]] = {t: _COMMON for t in RULES}
FAMILY_KEYS.update(
    {
        "mixtral": (*_COMMON, "num_local_experts", "num_experts_per_tok"),
        "qwen2_moe": (
            *_COMMON,
            "num_experts",
            "num_experts_per_tok",
            "moe_intermediate_size",
            "shared_expert_intermediate_size",
            "decoder_sparse_step",
            "mlp_only_layers",
            "qkv_bias",
        ),
        "qwen3_moe": (
            *_COMMON,
            "num_experts",
            "num_experts_per_tok",
            "moe_intermediate_size",
            "decoder_sparse_step",
            "mlp_only_layers",
        ),
        "deepseek_v3": (
            *_COMMON,
            "n_routed_experts",
            "num_experts_per_tok",
            "moe_intermediate_size",
            "n_shared_experts",
            "first_k_dense_replace",
            "q_lora_rank",
            "kv_lora_rank",
            "qk_rope_head_dim",
            "qk_nope_head_dim",
            "v_head_dim",
        ),
        "gpt2": (
            *_COMMON,
            "n_embd",
            "n_layer",
            "n_head",
            "n_inner",
            "n_positions",
            "activation_function",
            "add_cross_attention",
        ),
        "bert": (*_COMMON, "type_vocab_size", "position_embedding_type"),
    }
)
