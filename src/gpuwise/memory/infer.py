"""Peak memory of the inference prefill: weights, the KV cache, the forward's transients.

The reference prefill is one ``eval()`` / ``no_grad`` forward over ``batch`` x ``seq`` tokens with
``use_cache=True`` and ``logits_to_keep=1``. Live bytes grow by each layer's keys and values
(grouped-query: ``num_kv_heads`` heads; MLA as transformers caches it: decompressed per-head keys
and values; a sliding-window layer's cache is, until the first decode step trims it, a view that
keeps the whole prompt's keys and values) and peak either inside the last layer
(its transient: the MLP's intermediates) or at the LM head (the last position's logits only).
"""

from __future__ import annotations

from gpuwise.i18n import Message
from gpuwise.memory.estimate import MemoryEstimate
from gpuwise.memory.kv_cache import kv_cache_bytes
from gpuwise.memory.terms import dims_for, mode_key, stack_for
from gpuwise.memory.weights import weights_bytes
from gpuwise.models.spec import ModelSpec
from gpuwise.units import DTYPE_BYTES
from gpuwise.workload import Workload

TYPE_CHECKING = False
if TYPE_CHECKING:
    from gpuwise.i18n import Text

#: Stored bytes of what ``weights_bytes`` does not know: fp8 is stored like int8 (1 byte per
#: linear weight element, a float32 scale per row).
_STORED = {"fp8": "int8"}


def infer_memory(spec: ModelSpec, w: Workload) -> MemoryEstimate:
    notes: list[Text] = []
    stored = w.stored_weight_dtype
    weights = weights_bytes(spec, _STORED.get(stored, stored))
    if stored == "fp8":
        notes.append(Message("memory.note.fp8_weights"))
    stack = stack_for(spec, mode_key("infer", w.precision, "full", False), w.seq)
    for used in {stack.full.model_type, stack.sliding.model_type}:
        if used.split("+")[0] != spec.model_type:
            notes.append(Message("memory.note.terms_of", used=used, model_type=spec.model_type))
    d = dims_for(spec, w.batch, w.seq, 0)
    L = spec.num_layers
    cache = kv_cache_bytes(spec, w.batch, w.seq, w.cache_dtype, prefill=True)
    # the fitted layer terms hold each layer's keys and values in the compute dtype (all
    # tokens, even for a sliding layer, during the prefill); take that out, add the cache
    compute_bytes = DTYPE_BYTES[w.compute_dtype]
    kv_fitted = 2 * d.b * d.s * d.kv * compute_bytes
    pre = stack.pre("pre", d)
    kept = pre + stack.layers(d) - L * kv_fitted
    last_layer = (
        pre + stack.layers(d, L - 1) - L * kv_fitted + stack.last_layer("layer_fwd_peak", d)
    )
    at_head = kept + stack.head("head_fwd_peak", d)
    transient = max(stack.pre("pre_peak", d), last_layer, at_head)
    phases = {
        "prefill": {"weights": weights, "kv_cache": cache, "activations": max(0, transient)},
    }
    if w.cache_dtype == "fp8":
        notes.append(Message("memory.note.fp8_kv"))
    return MemoryEstimate.at_peak(phases, stack.source, notes)
