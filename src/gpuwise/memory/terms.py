"""Per-token activation terms of the reference step, as linear forms over a model's dimensions.

``data/layer_terms/<model type>.json`` holds (``index.json``: the basis and how the files were
made), per model type and mode (16-bit / amp / fp32 compute,
full / lora, with or without gradient checkpointing, or inference), the bytes the real
transformers modules keep and the transient peaks they reach, each as coefficients of the basis
below: ``T*I: 8`` means 8 bytes per token per unit of intermediate size (a gated MLP keeps four
16-bit tensors of width I: the gate and up projections, the activation, their product). The
coefficients are the exact sizes of the tensors the modules keep; scripts/derive_layer_terms.py
reads them off traces of the simulator (small configs, exact to the byte for the kept bytes) and
reports each form's residual. Windows:

- ``pre``: embeddings, position ids, rotary tables, masks (kept until backward);
- ``layer``: what one decoder layer adds and keeps; ``layer_fwd_peak``: its transient peak;
- ``head``: final norm, LM head, fp32 logits and loss kept for backward; ``head_fwd_peak``;
- ``head_bwd_peak``: the transient at the start of backward (the loss's fp32 gradients).
"""

from __future__ import annotations

import functools

from gpuwise.models.lora import lora_linears
from gpuwise.models.spec import ModelSpec
from gpuwise.packaged import packaged_json
from gpuwise.record import record

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

#: Decoder layers of the configs the terms were derived on (scripts/derive_layer_terms.py).
DERIVED_ON_LAYERS = 3

#: Model types without terms of their own use those of the type their layers are built like.
SAME_LAYERS = {
    "mistral": "llama",
    "mixtral": "llama",
    "qwen2_moe": "qwen2",
    "qwen3_moe": "qwen3",
    "deepseek_v3": "llama",
}


@functools.lru_cache(maxsize=1)
def _index() -> dict[str, Any]:
    data: dict[str, Any] = packaged_json("gpuwise.memory", "data/layer_terms/index.json")
    return data


@functools.lru_cache(maxsize=32)
def _family(model_type: str) -> dict[str, Any] | None:
    """The modes of one model type's terms (parsed only when a plan needs them), or None."""
    if model_type not in _index()["types"]:
        return None
    data: dict[str, Any] = packaged_json("gpuwise.memory", f"data/layer_terms/{model_type}.json")
    return data


def _table() -> dict[str, Any]:
    """Every model type's terms, as one table (for tests and the derivation script)."""
    index = _index()
    terms = {t: _family(t) for t in index["types"]}
    return {"basis": index["basis"], "provenance": index["provenance"], "terms": terms}


@record
class Dims:
    """The dimensions the basis multiplies, for one model and one batch."""

    b: int
    s: int
    h: int
    q: int
    kv: int
    nh: int
    I: int  # noqa: E741 (the conventional name)
    V: int
    hd: int
    r: int
    Wl: int
    Wh: int
    Wa: int = 0
    Wt: int = 0

    @property
    def values(self) -> dict[str, float]:
        """Every term of the basis (``"b*nh*s*s"``) at these dimensions, worked out once."""
        values: dict[str, float] | None = self.__dict__.get("_values")
        if values is None:
            values = {t: self.value(t) for t in _index()["basis"]}
            self.__dict__["_values"] = values
        return values

    def value(self, term: str) -> float:
        """The product ``term`` (``"b*nh*s*s"``) at these dimensions."""
        out = 1.0
        for factor in _factors(term):
            out *= self.b * self.s if factor == "T" else getattr(self, factor)
        return out


@functools.lru_cache(maxsize=64)
def _factors(term: str) -> tuple[str, ...]:
    """``"b*nh*s*s"`` -> ``("b", "nh", "s", "s")``; ``"1"`` -> ``()``."""
    return tuple(f for f in term.split("*") if f != "1")


def dims_for(
    spec: ModelSpec, batch: int, seq: int, rank: int, targets: tuple[str, ...] | None = None
) -> Dims:
    """``Wl``: linear weights of one layer; ``Wh``: the LM head; ``Wt``: the LM head when it is
    tied to the input embeddings (its gradient is then summed from two parts); ``Wa``: LoRA
    adapters of one layer (``rank`` x (in + out) of each targeted linear, all of them when
    ``targets`` is None)."""
    layer_linear, adapters, inter = _layer_sizes(spec, rank, targets)
    return Dims(
        b=batch,
        s=seq,
        h=spec.hidden_size,
        q=spec.num_attention_heads * spec.head_dim,
        kv=spec.num_kv_heads * spec.head_dim,
        nh=spec.num_attention_heads,
        I=inter,
        V=spec.vocab_size,
        hd=spec.head_dim,
        r=rank,
        Wl=layer_linear,
        Wh=spec.vocab_size * spec.hidden_size,
        Wa=adapters,
        Wt=spec.vocab_size * spec.hidden_size if spec.tie_word_embeddings else 0,
    )


@functools.lru_cache(maxsize=256)
def _layer_sizes(
    spec: ModelSpec, rank: int, targets: tuple[str, ...] | None
) -> tuple[int, int, int]:
    """``(Wl, Wa, I)`` of :func:`dims_for`, the same for every batch and sequence (a search
    over them works them out once)."""
    in_layer = [
        b
        for b in spec.train_blocks
        if b.linear and b.count == spec.num_layers and b.part not in ("lm_head", "mlm_head")
    ]
    layer_linear = sum(b.weight_numel for b in in_layer)
    adapted = {id(b) for b in lora_linears(spec, targets or ("all-linear",))}
    adapters = rank * sum(b.in_features + b.out_features for b in in_layer if id(b) in adapted)
    inter = spec.intermediate_size
    if spec.is_moe:
        # a token passes through k experts and any shared ones: an MLP as wide as all of them
        # (a gated MLP holds 3 x hidden x width weights)
        k = spec.num_experts_per_tok
        routed = sum(b.weight_numel // b.experts for b in spec.train_blocks if b.experts) * k
        shared = sum(
            b.weight_numel
            for b in spec.train_blocks
            if b.part == "mlp" and b.linear and b.count == spec.moe_layers
        )
        inter = max(1, (routed + shared) // (3 * spec.hidden_size))
    return layer_linear, adapters, inter


def compute_class(precision: str) -> str:
    """``16`` (bf16 / fp16 throughout), ``amp`` (fp32 weights, 16-bit compute) or ``32``."""
    return {"bf16": "16", "fp16": "16", "amp-bf16": "amp", "amp-fp16": "amp", "fp32": "32"}[
        precision
    ]


def mode_key(task: str, precision: str, method: str, checkpointing: bool) -> str:
    p = compute_class(precision)
    if task == "infer":
        return f"infer/{'32' if p == '32' else '16'}"
    m = "full" if method == "full" else "lora"
    return f"{p}/{m}/{'ckpt' if checkpointing else 'nockpt'}"


@record
class Terms:
    """The forms for one model type and mode, and which type they were derived on."""

    model_type: str
    mode: str
    forms: dict[str, dict[str, float]]

    def eval(self, window: str, d: Dims) -> int:
        form = self.forms.get(window, {})
        values = d.values
        return round(sum(c * values[term] for term, c in form.items()))


def terms_for(model_type: str, mode: str, sliding: bool = False) -> Terms:
    """The terms for ``model_type`` (its own, its look-alike's, or llama's as a last resort);
    ``sliding``: those of layers that attend over a window shorter than the sequence (a mask is
    built, and SDPA then gets key/value heads repeated to the query heads)."""
    same = SAME_LAYERS.get(model_type, model_type)
    names: tuple[str, ...] = (model_type, same, "llama")
    if sliding:
        names = (f"{model_type}+sliding", f"{same}+sliding", "mistral+sliding", *names)
    for t in names:
        family = _family(t)
        if family is not None and mode in family:
            forms = {k: v for k, v in family[mode].items() if isinstance(v, dict)}
            return Terms(t, mode, forms)
    raise KeyError(f"no activation terms for mode {mode}")


@record
class Stack:
    """A model's layers: how many attend over the whole context, how many over a window."""

    full: Terms
    sliding: Terms
    n_full: int
    n_sliding: int

    @property
    def source(self) -> str:
        if not self.n_sliding:
            return f"{self.full.model_type} {self.full.mode}"
        if not self.n_full:
            return f"{self.sliding.model_type} {self.sliding.mode}"
        return f"{self.full.model_type} + {self.sliding.model_type} {self.full.mode}"

    def pre(self, window: str, d: Dims) -> int:
        return (self.sliding if self.n_sliding else self.full).eval(window, d)

    def layers(self, d: Dims, n: int | None = None, window: str = "layer") -> int:
        """``window`` summed over the first ``n`` layers (all by default): by default, what they
        keep for backward."""
        n = self.n_full + self.n_sliding if n is None else n
        k_full = min(n, self.n_full)
        return k_full * self.full.eval(window, d) + (n - k_full) * self.sliding.eval(window, d)

    def last_layer(self, window: str, d: Dims) -> int:
        """``window`` in a layer of either kind, the larger. A transient peak that was derived in
        parts (``window_0``, ``window_1``, ...: the layer's attention, its MLP, ...) is the
        largest part: each part is one linear form, their maximum is not."""
        values = []
        for t, k in ((self.full, self.n_full), (self.sliding, self.n_sliding)):
            if not k:
                continue
            parts = [name for name in t.forms if name.startswith(f"{window}_")]
            value = max(t.eval(p, d) for p in parts) if parts else t.eval(window, d)
            # a fitted form can extrapolate below what is physically there (a long context on
            # the short derivation configs): a layer's forward peak holds at least what the
            # layer keeps, and no transient is negative
            floor = t.eval("layer", d) if window.startswith("layer_fwd_peak") else 0
            values.append(max(value, floor, 0))
        return max(values)

    def head(self, window: str, d: Dims) -> int:
        return (self.sliding if self.n_sliding and not self.n_full else self.full).eval(window, d)


def stack_for(spec: ModelSpec, mode: str, seq: int) -> Stack:
    full = terms_for(spec.model_type, mode)
    window = spec.sliding_window
    n_sliding = spec.sliding_layers if window and seq > window else 0
    sliding = terms_for(spec.model_type, mode, sliding=True) if n_sliding else full
    return Stack(full, sliding, spec.num_layers - n_sliding, n_sliding)
