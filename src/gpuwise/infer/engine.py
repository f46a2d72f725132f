"""Which engine an inference plan describes, and the llama.cpp settings it runs with.

``transformers`` is the reference ``generate()`` (docs/reference-step.md), planned by
:mod:`gpuwise.memory.infer` and :mod:`gpuwise.timing.estimate` as before. ``llama.cpp`` runs a
GGUF file; ``ollama`` is llama.cpp with Ollama's defaults (its context length by the cards'
memory, ``num_batch`` 512 as the ubatch, flash attention auto, f16 KV cache; read from
Ollama's source, ``data/llamacpp.json``). Without ``--engine`` a GGUF weight type means
llama.cpp and anything else transformers.
"""

from __future__ import annotations

import functools

from gpuwise.errors import GpuwiseError
from gpuwise.i18n import Message
from gpuwise.models.spec import ModelSpec
from gpuwise.models.weight_types import GGUF_TYPES, is_gguf, normalise
from gpuwise.packaged import packaged_json
from gpuwise.record import record, replace

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

ENGINES = ("transformers", "llama.cpp", "ollama", "vllm")
LLAMA_ENGINES = ("llama.cpp", "ollama")
#: KV cache types llama.cpp's --cache-type-k/-v take that gpuwise plans.
KV_TYPES = ("f16", "q8_0", "q4_0")
#: --kv-dtype spellings of the f16 cache.
_KV_ALIASES = {"fp16": "f16", "float16": "f16"}
#: --weight-dtype values transformers takes that name a GGUF file type for llama.cpp.
_GGUF_FROM_HF = {"fp16": "f16", "float16": "f16", "bf16": "bf16", "fp32": "f32"}
#: GGUF types transformers has always taken as --weight-dtype: they keep meaning transformers
#: unless --engine says otherwise.
_HF_TOO = ("bf16", "f32")
#: The GGUF type a llama.cpp plan assumes when none is given (Ollama's library tags are Q4_K_M).
DEFAULT_WEIGHT_TYPE = "q4_k_m"
#: Largest --ubatch gpuwise plans (llama.cpp's n_ubatch is at most n_batch, 2048 by default;
#: users raise both for long prompts).
MAX_UBATCH = 1 << 16
#: --host-bandwidth range, GB/s.
HOST_BANDWIDTH_RANGE = (1.0, 2000.0)


@functools.lru_cache(maxsize=1)
def rules() -> dict[str, Any]:
    """data/llamacpp.json: llama.cpp's memory rules and the engines' defaults, with sources."""
    data: dict[str, Any] = packaged_json("gpuwise.infer", "data/llamacpp.json")
    return data


def gguf_type(value: str | None) -> str | None:
    """``value`` as a GGUF file type key (``Q4_K_M`` -> ``q4_k_m``), or None when it is not one
    (:func:`gpuwise.models.weight_types.normalise`)."""
    if value is None:
        return None
    try:
        key = normalise(value)
    except GpuwiseError:
        return None
    return key if is_gguf(key) else None


@record
class EngineSettings:
    """How llama.cpp runs the model: ``engine`` (``llama.cpp`` or ``ollama``), the GGUF
    ``weight_type`` (a file type key, ``q4_k_m``), the KV cache type, ``gpu_layers`` (None:
    as many as fit; else llama.cpp's -ngl, 0 to layers + 1), ``ubatch`` (-ub), ``flash_attn``,
    ``n_ctx`` (None: Ollama's default for the card, capped at the model's context), the host
    memory bandwidth for layers left in RAM (GB/s) and whether the user gave it."""

    engine: str
    weight_type: str
    kv_type: str = "f16"
    gpu_layers: int | None = None
    ubatch: int = 512
    flash_attn: bool = True
    n_ctx: int | None = None
    host_bandwidth_gb_s: float = 60.0
    host_bandwidth_given: bool = False
    weight_type_given: bool = True
    split_mode: str = "layer"  # llama.cpp's --split-mode over several cards: layer or row

    @property
    def ollama(self) -> bool:
        return self.engine == "ollama"

    def with_(self, **changes: object) -> EngineSettings:
        return replace(self, **changes)


def choose_engine(engine: str | None, weight_dtype: str | None) -> str:
    """The engine asked for, else the one the weights imply (GGUF: llama.cpp)."""
    if engine is not None:
        key = engine.strip().lower()
        key = {"llamacpp": "llama.cpp", "llama-cpp": "llama.cpp", "hf": "transformers"}.get(
            key, key
        )
        if key not in ENGINES:
            raise GpuwiseError(
                Message("infer.unknown_engine", value=repr(engine), allowed=", ".join(ENGINES))
            )
        return key
    gguf = gguf_type(weight_dtype)
    return "llama.cpp" if gguf is not None and gguf not in _HF_TOO else "transformers"


def kv_type(value: str | None) -> str:
    """``--kv-dtype`` for llama.cpp: f16 (default), q8_0 or q4_0."""
    if value is None:
        return "f16"
    key = value.strip().lower()
    key = _KV_ALIASES.get(key, key)
    if key not in KV_TYPES:
        raise GpuwiseError(
            Message("infer.unknown_kv_type", value=repr(value), allowed=", ".join(KV_TYPES))
        )
    return key


def weight_type(value: str | None) -> tuple[str, bool]:
    """``--weight-dtype`` for llama.cpp: a GGUF file type (fp16/bf16 name f16/bf16), or the
    default Q4_K_M when none is given; (key, given)."""
    if value is None:
        return DEFAULT_WEIGHT_TYPE, False
    key = gguf_type(value) or gguf_type(_GGUF_FROM_HF.get(value.strip().lower()))
    if key is None:
        raise GpuwiseError(
            Message("infer.not_gguf", value=repr(value), allowed=", ".join(GGUF_TYPES))
        )
    return key, True


def gpu_layers(value: str | None, spec: ModelSpec) -> int | None:
    """``--gpu-layers auto|N`` -> None (auto) or N, 0 to the model's layers + 1 (llama.cpp
    counts the output layer as one: ``offloaded 33/33 layers`` for a 32-layer model)."""
    most = spec.num_layers + 1
    if value is None or value.strip().lower() == "auto":
        return None
    text = value.strip()
    digits = text.removeprefix("-")
    if not (digits.isascii() and digits.isdigit()) or len(text) > 12:
        raise GpuwiseError(Message("infer.gpu_layers_not_number", value=repr(value), most=most))
    n = int(text)
    if n < 0 or n > most:
        raise GpuwiseError(
            Message("infer.gpu_layers_range", value=n, most=most, model=spec.name, layers=most - 1)
        )
    return n


def check_ubatch(value: int) -> int:
    if not 1 <= value <= MAX_UBATCH:
        raise GpuwiseError(Message("infer.ubatch_range", value=value, most=f"{MAX_UBATCH:,}"))
    return value


def flash_attn(value: str | None) -> bool:
    """``--flash-attn on|off|auto``: auto is on (llama.cpp's CUDA backend has it on every card
    gpuwise plans for; Ollama passes auto)."""
    if value is None:
        return True
    key = value.strip().lower()
    if key in ("on", "1", "true", "auto"):
        return True
    if key in ("off", "0", "false"):
        return False
    raise GpuwiseError(Message("infer.flash_attn_value", value=repr(value)))


def host_bandwidth(value: str | None) -> tuple[float, bool]:
    """``--host-bandwidth 60GB/s`` (or ``60``) -> (GB/s, given); 60 GB/s when not given."""
    if value is None:
        return 60.0, False
    text = value.strip().lower().replace(" ", "")
    for unit in ("gb/s", "gbps", "gb"):
        if text.endswith(unit):
            text = text[: -len(unit)]
            break
    low, high = HOST_BANDWIDTH_RANGE
    try:
        gb_s = float(text)
    except ValueError:
        raise GpuwiseError(Message("infer.host_bandwidth_value", value=repr(value))) from None
    if not low <= gb_s <= high:  # also refuses nan
        raise GpuwiseError(
            Message(
                "infer.host_bandwidth_range", value=repr(value), low=f"{low:g}", high=f"{high:g}"
            )
        )
    return gb_s, True


#: llama.cpp's --split-mode values gpuwise plans over several cards (none is one card: --gpus 1;
#: tensor, the experimental mode of 2026, is not planned).
SPLIT_MODES = ("layer", "row")


def split_mode(value: str | None) -> str:
    """``--split-mode layer|row`` (llama.cpp's ``-sm``); layer when not given."""
    if value is None:
        return "layer"
    key = value.strip().lower()
    if key not in SPLIT_MODES:
        raise GpuwiseError(
            Message("infer.split_mode_value", value=repr(value), allowed=", ".join(SPLIT_MODES))
        )
    return key


def check(s: EngineSettings) -> EngineSettings:
    """Refuse what llama.cpp refuses: a quantized V cache without flash attention."""
    if s.kv_type != "f16" and not s.flash_attn:
        raise GpuwiseError(Message("infer.quantized_v_needs_fa", kv=s.kv_type))
    return s


def ollama_n_ctx(total_vram_gib: float, spec: ModelSpec) -> int:
    """Ollama's default context for cards with ``total_vram_gib`` of memory in all, capped at
    the model's trained context (server/routes.go, llm/server.go: data/llamacpp.json)."""
    tiers = rules()["defaults"]["ollama"]["num_ctx"]["tiers"]
    n_ctx = next(int(ctx) for gib, ctx in tiers if total_vram_gib >= gib)
    limit = spec.max_position_embeddings
    return min(n_ctx, limit) if limit else n_ctx
