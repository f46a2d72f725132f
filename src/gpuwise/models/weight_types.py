"""What a model's weights weigh in each way people store them, tensor by tensor.

- GGUF file types (``q4_k_m``, ``iq3_xxs``, ``f16``...): every tensor the model has, at the ggml
  type llama.cpp's quantizer gives it for that file type (``src/llama-quant.cpp``: the ``_S`` /
  ``_M`` / ``_L`` mixes keep ``attn_v``, ``ffn_down`` in some layers and ``output.weight`` at
  higher precision; a row that is not a whole number of blocks falls back to another type), in
  that type's blocks. The rule and the block sizes are data: ``data/gguf_types.json``, with the
  llama.cpp commit they were read from. A file made from a GGUF file (``gguf_file.py``) keeps
  the types the file has.
- ``awq``, ``gptq``, ``fp8``: the checkpoint layouts of ``data/quant_formats.json`` (4-bit
  groups of 128 with their scales and zeros; fp8 with a scale per output channel): linear
  layers inside the decoder layers quantized, embeddings, LM head and norms 16-bit.
- ``fp32``, ``fp16``, ``int8``, ``nf4`` (and ``bf16`` for transformers): as transformers and
  bitsandbytes hold them (:mod:`gpuwise.models.hf_layouts`).

``bf16`` is both a GGUF file type and a transformers dtype: here it is the GGUF file (norms in
f32); the transformers plan keeps using :mod:`gpuwise.memory.weights`. The two differ by the
norms' few kilobytes.
"""

from __future__ import annotations

import functools

from gpuwise.errors import GpuwiseError
from gpuwise.i18n import Message, cut
from gpuwise.models.spec import ModelSpec, ParamBlock
from gpuwise.packaged import packaged_json
from gpuwise.record import record

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

#: GGUF file types, from the largest to the smallest (the keys of ``file_types`` in
#: data/gguf_types.json; a test holds them equal).
GGUF_TYPES = (
    "f32",
    "f16",
    "bf16",
    "q8_0",
    "q6_k",
    "q5_k_m",
    "q5_k_s",
    "q5_1",
    "q5_0",
    "q4_k_m",
    "q4_k_s",
    "q4_1",
    "q4_0",
    "iq4_xs",
    "iq4_nl",
    "q3_k_l",
    "q3_k_m",
    "q3_k_s",
    "iq3_m",
    "iq3_s",
    "iq3_xs",
    "iq3_xxs",
    "q2_k",
    "q2_k_s",
    "iq2_m",
    "iq2_s",
    "iq2_xs",
    "iq2_xxs",
    "iq1_m",
    "iq1_s",
)
#: Checkpoint formats vLLM and transformers load (data/quant_formats.json).
CHECKPOINT_TYPES = ("awq", "gptq", "fp8")
#: transformers' own dtypes and bitsandbytes (gpuwise.models.hf_layouts), kept as --weight-dtype
#: has always accepted them.
TRANSFORMERS_TYPES = ("fp32", "fp16", "int8", "nf4")
#: Every weight type, by its lowercase key.
WEIGHT_TYPES = GGUF_TYPES + CHECKPOINT_TYPES + TRANSFORMERS_TYPES
#: What people type for a type -> its key (llama-quantize's own aliases: Q4_K is Q4_K_M).
ALIASES = {
    "int4": "nf4",
    "4bit": "nf4",
    "8bit": "int8",
    "float16": "fp16",
    "float32": "fp32",
    "bfloat16": "bf16",
    "q4_k": "q4_k_m",
    "q5_k": "q5_k_m",
    "q3_k": "q3_k_m",
    "fp8_e4m3": "fp8",
}
#: A model read from a GGUF file, asked for ``FILE``, gets the tensors at the file's own types
#: (also when its ``general.file_type`` names no type gpuwise knows).
FILE = "file"
#: The short selection ``gpuwise model`` shows in its table (JSON lists every type).
TABLE_TYPES = ("f16", "q8_0", "q6_k", "q5_k_m", "q4_k_m", "q3_k_m", "q2_k", "awq")


@record
class TensorWeight:
    """One stored tensor: its name (GGUF's ``blk.3.attn_v.weight``, or transformers' module
    name for the checkpoint formats), its layer (None outside the repeating layers), its
    elements, the type it is stored in and its bytes."""

    name: str
    layer: int | None
    n_elements: int
    ggml_type: str
    bytes: int


def normalise(value: str) -> str:
    """A weight type as typed (any case: ``Q4_K_M``, ``q4-k-m``, ``int4``) -> its key; an
    unknown one is a GpuwiseError naming the accepted ones."""
    key = str(value).strip().lower().replace("-", "_")
    key = ALIASES.get(key, key)
    if key in WEIGHT_TYPES:
        return key
    raise GpuwiseError(
        Message(
            "weights.unknown_type",
            value=cut(str(value), 40),
            known=", ".join(WEIGHT_TYPES),
            aliases=", ".join(ALIASES),
        )
    )


def is_gguf(weight_type: str) -> bool:
    """True for a GGUF file type (llama.cpp's weights)."""
    return weight_type in GGUF_TYPES


# --- the data -------------------------------------------------------------------------------


@functools.cache
def _gguf() -> dict[str, Any]:
    data: dict[str, Any] = packaged_json("gpuwise.models", "data/gguf_types.json")
    return data


@functools.cache
def _formats() -> dict[str, Any]:
    data: dict[str, Any] = packaged_json("gpuwise.models", "data/quant_formats.json")
    return data["formats"]


def ggml_types() -> dict[str, dict[str, int]]:
    """ggml type name (lowercase) -> ``{"id", "block", "bytes"}``."""
    types: dict[str, dict[str, int]] = _gguf()["ggml_types"]
    return types


@functools.cache
def ggml_type_by_id() -> dict[int, str]:
    """ggml type id (as a GGUF file stores it) -> its lowercase name."""
    return {v["id"]: k for k, v in ggml_types().items()}


@functools.cache
def file_type_by_id() -> dict[int, str]:
    """llama_ftype id (a GGUF file's ``general.file_type``) -> the file type's key."""
    return {v["id"]: k for k, v in _gguf()["file_types"].items()}


def tensor_bytes(ggml_type: str, n_elements: int) -> int:
    """Bytes of ``n_elements`` stored as ``ggml_type`` (whole blocks)."""
    info = ggml_types()[ggml_type]
    return -(-n_elements // info["block"]) * info["bytes"]


# --- a model's tensors as a GGUF file has them ----------------------------------------------


@record
class GgufTensor:
    """A GGUF tensor before its type is chosen, once per layer it is in."""

    name: str  # "attn_v.weight"; in a layer the file calls it "blk.N.attn_v.weight"
    layers: tuple[int, ...] | None
    n_elements: int  # one instance
    ne0: int  # its row: the elements a block must divide
    dims: int


def _gguf_name(block: ParamBlock) -> str:
    names: dict[str, str] = _gguf()["hf_names"]["map"]
    leaf = block.name.rsplit(".", 1)[-1]
    if block.name in ("model.norm", "transformer.ln_f", "gpt_neox.final_layer_norm") or (
        block.part == "norm" and "*" not in block.name
    ):
        base = "output_norm"
    else:
        base = names.get(f"{block.part}:{leaf}") or names.get(leaf) or names.get(block.part) or leaf
    if block.experts and base.startswith("ffn_") and "gate_inp" not in base:
        base += "_exps"
    elif "shared_expert" in block.name and not base.endswith("_shexp"):
        base += "_shexp"
    return base


def _layers(block: ParamBlock, n_layers: int) -> tuple[int, ...] | None:
    """The layers a repeated block is in. A block in fewer than all layers is a mixture of
    experts' (experts, router, shared experts: the last layers, after DeepSeek's
    first_k_dense_replace dense ones) or the dense MLP of those first layers."""
    if "*" not in block.name:
        return None
    if block.count > n_layers:
        return tuple(range(block.count))
    moe = block.experts > 0 or block.part in ("router", "experts") or "shared_expert" in block.name
    if moe:
        return tuple(range(n_layers - block.count, n_layers))
    return tuple(range(block.count))


def gguf_tensors(spec: ModelSpec) -> list[GgufTensor]:
    """The tensors ``convert_hf_to_gguf.py`` writes for ``spec`` (weights and biases)."""
    out: list[GgufTensor] = []
    for block in spec.blocks:
        base = _gguf_name(block)
        layers = _layers(block, spec.num_layers)
        count = 1 if layers is not None else block.count
        dims = len(block.shape)
        ne0 = block.in_features if dims >= 2 else block.shape[0]
        out.append(GgufTensor(f"{base}.weight", layers, block.weight_numel * count, ne0, dims))
        if block.bias:
            out.append(GgufTensor(f"{base}.bias", layers, block.bias * count, block.bias, 1))
    return out


def _category(name: str) -> str:
    if name == "output.weight":
        return "output"
    if name == "token_embd.weight":
        return "token_embd"
    for needle, category in _gguf()["categories"]["order"]:
        if needle in name:
            return str(category)
    return "other"


def _quantizable(t: GgufTensor) -> bool:
    if t.dims < 2 or not t.name.endswith("weight"):
        return False
    return not any(n in t.name for n in _gguf()["never_quantized"]["names"])


def _source_type(t: GgufTensor, outtype: str) -> str:
    """What convert_hf_to_gguf.py writes the tensor in with ``--outtype outtype``."""
    if t.dims < 2 or t.name.endswith("_norm.weight"):
        return "f32"
    if any(n in t.name for n in _gguf()["convert_f32"]["names"]):
        return "f32"
    return outtype


@record
class _Model:
    """What the quantizer's conditions ask of a model."""

    n_layers: int
    gqa: float
    n_expert: int
    type_70b: bool
    tied: bool


def _model_facts(spec: ModelSpec, tensors: list[GgufTensor]) -> _Model:
    heads, kv = spec.num_attention_heads, spec.num_kv_heads or spec.num_attention_heads
    return _Model(
        n_layers=spec.num_layers,
        gqa=heads / kv if kv else 1.0,
        n_expert=spec.num_experts,
        type_70b=spec.model_type == "llama" and spec.num_layers == 80 and kv < heads,
        tied=not any(t.name == "output.weight" for t in tensors),
    )


def _more_bits(i: int, n: int) -> bool:
    return i < n // 8 or i >= 7 * n // 8 or (i - n // 8) % 3 == 2


def _holds(cond: str, i: int, m: _Model, imatrix: bool) -> bool:
    n = m.n_layers
    if cond == "more_bits":
        return _more_bits(i, n)
    if cond == "first_eighth":
        return i < n // 8
    if cond == "first_sixteenth":
        return i < n // 16
    if cond == "first_2":
        return i < 2
    if cond == "first_4":
        return i < 4
    if cond == "middle":
        return n // 8 <= i < 7 * n // 8
    if cond == "gqa4":
        return m.gqa >= 4
    if cond == "gqa4_or_experts4":
        return m.gqa >= 4 or m.n_expert >= 4
    if cond == "experts8":
        return m.n_expert == 8
    if cond == "not_experts8":
        return m.n_expert != 8
    if cond == "type_70b":
        return m.type_70b
    if cond == "imatrix":
        return imatrix
    if cond == "no_imatrix":
        return not imatrix
    raise ValueError(f"data/gguf_types.json: unknown condition {cond!r}")


_LAYER_CONDITIONS = frozenset(
    {"more_bits", "first_eighth", "first_sixteenth", "first_2", "first_4", "middle"}
)


#: A rule as code reads it: (conditions, type, types it replaces: any when empty).
_Rule = tuple[tuple[str, ...], str, tuple[str, ...]]


@functools.cache
def _rules(file_type: str, category: str) -> tuple[_Rule, ...]:
    """The rules of ``category`` that apply to ``file_type``: (conditions, type, from)."""
    out = []
    for rule in _gguf()["rules"].get(category, ()):
        if "file_types" in rule and file_type not in rule["file_types"]:
            continue
        if file_type in rule.get("except", ()):
            continue
        out.append((tuple(rule.get("if", ())), rule["type"], tuple(rule.get("from", ()))))
    return tuple(out)


def _output_type(file_type: str, default: str, ne0: int) -> str:
    rule = _gguf()["output"]
    if ne0 % ggml_types()[default]["block"]:
        return "q8_0"
    if file_type in rule["low_iq_file_types"]:
        return str(rule["low_iq_type"])
    return default if default == "q8_0" else str(rule["otherwise"])


def _fallback(ggml_type: str, ne0: int) -> str:
    if ne0 % ggml_types()[ggml_type]["block"] == 0:
        return ggml_type
    table = _gguf()["fallback"]
    out = table["types"].get(ggml_type)
    if out is None or ne0 % ggml_types()[out]["block"]:
        return str(table["last_resort"])
    return str(out)


def _choose(t: GgufTensor, i: int, file_type: str, default: str, m: _Model, imatrix: bool) -> str:
    """llama_tensor_get_type for one tensor (layer ``i``) of a file of ``file_type``."""
    category = _category(t.name)
    if category == "output" or (category == "token_embd" and m.tied):
        return _fallback(_output_type(file_type, default, t.ne0), t.ne0)
    chosen = default
    for conds, new, _ in _rules(file_type, category):
        if all(_holds(c, i, m, imatrix) for c in conds):
            chosen = new
            break
    if category == "attn_v":
        for conds, new, source in _rules(file_type, "attn_v_bump"):
            if (not source or chosen in source) and all(_holds(c, i, m, imatrix) for c in conds):
                chosen = new
    return _fallback(chosen, t.ne0)


def _needs_imatrix(file_type: str) -> bool:
    return file_type in _gguf()["needs_imatrix"]["file_types"]


@functools.lru_cache(maxsize=16)
def _gguf_tensors(spec: ModelSpec) -> tuple[GgufTensor, ...]:
    return tuple(gguf_tensors(spec))


def _gguf_plan(spec: ModelSpec, file_type: str) -> list[tuple[GgufTensor, str | list[str]]]:
    """Each GGUF tensor of ``spec`` with the type it gets in a file of ``file_type``: one type
    for all its layers, or one per layer (index i of ``layers``) where the rule depends on it."""
    tensors = _gguf_tensors(spec)
    default = _gguf()["file_types"][file_type]["default"]
    quantized = ggml_types()[default]["block"] > 1
    outtype = default if not quantized else "f16"
    m = _model_facts(spec, list(tensors))
    imatrix = _needs_imatrix(file_type)
    out: list[tuple[GgufTensor, str | list[str]]] = []
    for t in tensors:
        if not (quantized and _quantizable(t)):
            out.append((t, _source_type(t, outtype)))
            continue
        category = _category(t.name)
        layer_dependent = t.layers is not None and any(
            c in _LAYER_CONDITIONS
            for kind in (category, "attn_v_bump")
            for conds, _, _ in _rules(file_type, kind)
            for c in conds
        )
        if layer_dependent and t.layers is not None:
            out.append((t, [_choose(t, i, file_type, default, m, imatrix) for i in t.layers]))
        else:
            out.append((t, _choose(t, 0, file_type, default, m, imatrix)))
    return out


def _gguf_weights(spec: ModelSpec, file_type: str) -> list[TensorWeight]:
    out: list[TensorWeight] = []
    for t, chosen in _gguf_plan(spec, file_type):
        layers: tuple[int | None, ...] = (None,) if t.layers is None else t.layers
        for n, i in enumerate(layers):
            kind = chosen if isinstance(chosen, str) else chosen[n]
            size = tensor_bytes(kind, t.n_elements)
            out.append(TensorWeight(_named(t, i), i, t.n_elements, kind, size))
    return out


def _gguf_bytes(spec: ModelSpec, file_type: str) -> int:
    total = 0
    for t, chosen in _gguf_plan(spec, file_type):
        if isinstance(chosen, str):
            total += tensor_bytes(chosen, t.n_elements) * (1 if t.layers is None else len(t.layers))
        else:
            total += sum(tensor_bytes(kind, t.n_elements) for kind in chosen)
    return total


def _named(t: GgufTensor, layer: int | None) -> str:
    return t.name if layer is None else f"blk.{layer}.{t.name}"


# --- checkpoint formats and transformers' dtypes --------------------------------------------


def _checkpoint_quantized(block: ParamBlock) -> bool:
    """AWQ / GPTQ / FP8 quantize the linear layers inside the decoder layers (and expert
    weights), never embeddings, the LM head, norms or routers."""
    return (
        "*" in block.name
        and len(block.shape) >= 2
        and (block.linear or block.experts > 0)
        and block.part not in ("router", "embedding", "lm_head", "norm")
    )


def _checkpoint_bytes(block: ParamBlock, fmt: dict[str, Any]) -> tuple[str, int]:
    """(storage, bytes) of one instance of ``block`` in a checkpoint format."""
    n = block.weight_numel
    if not _checkpoint_quantized(block):
        return "f16", 2 * (n + block.bias)
    experts = max(1, block.experts)
    rows, cols = block.out_features * experts, block.in_features
    size = n * fmt["bits"] / 8 + rows * fmt["row_bytes"] + fmt["tensor_bytes"]
    if fmt["group"]:
        size += rows * -(-cols // fmt["group"]) * fmt["group_bytes"]
    size += cols * experts * fmt["column_bytes"]
    return "", round(size) + 2 * block.bias


def checkpoint_bytes(
    spec: ModelSpec, weight_type: str, blocks: tuple[ParamBlock, ...] | None = None
) -> int:
    """Bytes of ``blocks`` (default: the whole model) in the checkpoint format ``weight_type``
    (awq, gptq, fp8)."""
    fmt = _formats()[weight_type]
    return sum(
        _checkpoint_bytes(b, fmt)[1] * b.count for b in (spec.blocks if blocks is None else blocks)
    )


def _hf_weights(spec: ModelSpec, weight_type: str) -> list[TensorWeight]:
    out: list[TensorWeight] = []
    for block in spec.blocks:
        layers = _layers(block, spec.num_layers)
        count = 1 if layers is not None else block.count
        if weight_type in CHECKPOINT_TYPES:
            storage, size = _checkpoint_bytes(block, _formats()[weight_type])
            storage = storage or weight_type
            size *= count
        else:
            from gpuwise.models.hf_layouts import weights_bytes as hf_bytes

            whole = hf_bytes(spec, weight_type, (block,))
            size = whole // block.count * count
            storage = weight_type
        numel = (block.weight_numel + block.bias) * count
        for i in (None,) if layers is None else layers:
            name = block.name if i is None else block.name.replace("*", str(i))
            out.append(TensorWeight(name, i, numel, storage, size))
    return out


# --- the API --------------------------------------------------------------------------------


def tensor_weights(spec: ModelSpec, weight_type: str) -> list[TensorWeight]:
    """Every tensor of ``spec`` stored as ``weight_type`` (a key of :data:`WEIGHT_TYPES`, or
    anything :func:`normalise` takes). A model read from a GGUF file, asked for its own file
    type or :data:`FILE`, gets the file's tensors exactly."""
    own = spec.extra.get("gguf_tensors")
    if own is not None and weight_type == FILE:
        return list(own)  # type: ignore[call-overload]
    key = normalise(weight_type)
    if own is not None and key == spec.extra.get("gguf_file_type"):
        return list(own)  # type: ignore[call-overload]
    if key in GGUF_TYPES:
        return _gguf_weights(spec, key)
    return _hf_weights(spec, key)


def weights_bytes(spec: ModelSpec, weight_type: str) -> int:
    """Bytes of all of ``spec``'s weights stored as ``weight_type``."""
    if weight_type in GGUF_TYPES and "gguf_tensors" not in spec.extra:
        return _gguf_bytes(spec, weight_type)  # the same sum, without a record per tensor
    return sum(t.bytes for t in tensor_weights(spec, weight_type))


def layer_bytes(spec: ModelSpec, weight_type: str) -> list[int]:
    """Bytes of each repeating layer (index = layer), what llama.cpp's ``--n-gpu-layers``
    moves to the card one by one."""
    out = [0] * spec.num_layers
    for t in tensor_weights(spec, weight_type):
        if t.layer is not None and 0 <= t.layer < len(out):
            out[t.layer] += t.bytes
    return out


def nonlayer_bytes(spec: ModelSpec, weight_type: str) -> dict[str, int]:
    """Bytes of each tensor outside the repeating layers, by name: for GGUF types
    ``token_embd.weight`` (llama.cpp keeps it in host memory), ``output.weight`` (on the card
    only when every layer is; absent when the model ties it to ``token_embd``, which llama.cpp
    then also loads as the output), ``output_norm.weight``."""
    out: dict[str, int] = {}
    for t in tensor_weights(spec, weight_type):
        if t.layer is None:  # an encoder's two position tables share a name: summed
            out[t.name] = out.get(t.name, 0) + t.bytes
    return out
