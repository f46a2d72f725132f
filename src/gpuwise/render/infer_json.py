"""The keys of ``plan --json`` and ``recommend --json`` that an inference engine (llama.cpp,
Ollama, vLLM) says differently from transformers' reference:

- ``workload.weight_dtype`` and ``workload.kv_dtype`` are the engine's types (a GGUF type such
  as ``q4_k_m`` and ``f16`` / ``q8_0`` / ``q4_0`` for llama.cpp; ``bf16`` / ``fp16`` / ``awq`` /
  ``gptq`` / ``fp8`` and ``auto`` / ``fp8`` for vLLM), as ``engine.weight_type`` and
  ``engine.kv_type`` say them;
- ``precision`` and ``precision_given`` (of ``workload``, of each card and each option) and a
  card's ``precision_note`` / ``precision_warning`` are null: these engines have no autocast
  precision to choose (the weight and KV types say what is stored, the engine its kernels);
- ``parallel`` is the machine of the first card: ``strategy`` "single", "layer-split" or
  "row-split" (llama.cpp's ``--split-mode``) or "tensor-parallel" (vLLM), ``gpus`` the number of
  cards, ``engine`` the inference engine, ``memory_is_per_gpu`` true with several cards.
"""

from __future__ import annotations

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

#: The precision keys that mean nothing for an inference engine: null in its documents.
_PRECISION_KEYS = ("precision", "precision_given", "precision_note", "precision_warning")


def engine_workload(workload: dict[str, Any], engine: dict[str, Any]) -> None:
    """``workload`` with the engine's weight and KV types and no precision."""
    workload["weight_dtype"] = engine["weight_type"]
    workload["kv_dtype"] = engine["kv_type"]
    workload["precision"] = None
    workload["precision_given"] = None


def no_precision(entry: dict[str, Any]) -> None:
    """A card's or an option's precision keys, null (those it has)."""
    for key in _PRECISION_KEYS:
        if key in entry:
            entry[key] = None


def machine_parallel(
    parallel: dict[str, Any], engine: dict[str, Any], card: dict[str, Any]
) -> None:
    """``parallel`` of an engine's plan: the first card's machine (``card``: its entry)."""
    if "serving" in card:  # vLLM
        gpus = int(card["serving"]["tensor_parallel"])
        strategy = "tensor-parallel" if gpus > 1 else "single"
    else:
        gpus = len(card.get("per_gpu") or ()) or 1
        split = engine.get("split_mode", "layer")
        strategy = f"{split}-split" if gpus > 1 else "single"
    parallel.update(
        strategy=strategy,
        gpus=gpus,
        engine=engine["name"],
        shard_size=None,
        grad_accum=1,
        memory_is_per_gpu=gpus > 1,
    )


def plan_engine_keys(doc: dict[str, Any]) -> None:
    """``plan --json`` of an engine (the document has ``engine``), as the module says."""
    engine = doc.get("engine")
    if not engine:
        return
    engine_workload(doc["workload"], engine)
    for card in doc["cards"]:
        no_precision(card)
    if doc["cards"]:
        machine_parallel(doc["parallel"], engine, doc["cards"][0])
        doc["parallel"]["global_batch"] = doc["workload"]["batch"]


def recommend_engine_keys(doc: dict[str, Any]) -> None:
    """``recommend --json`` of an engine: the workload's types, no precision on the options."""
    engine_workload(doc["workload"], doc["engine"])
    for option in doc["options"]:
        no_precision(option)
