"""Domain objects -> JSON documents (the contract in the README's "JSON output" section).

Every document carries ``schema_version`` and ``gpuwise_version``; card data carries
``catalog_date``. Bytes are integers. Keys are stable: a change of meaning bumps
``SCHEMA_VERSION``.
"""

from __future__ import annotations

from typing import Any

from gpuwise.catalog import Card, Catalog, usable_memory
from gpuwise.catalog.card import FIGURE_FIELDS
from gpuwise.memory.weights import WEIGHT_DTYPES, weights_bytes
from gpuwise.models.spec import ModelSpec
from gpuwise.render.document import dumps, envelope

__all__ = ["CARD_KEYS", "card_doc", "cards_doc", "doctor_doc", "dumps", "envelope", "model_doc"]

CARD_KEYS = (
    "name",
    "slug",
    "series",
    "segment",
    "architecture",
    "chip",
    "compute_capability",
    *FIGURE_FIELDS,
    "memory_type",
    "launch_date",
    "features",
    "origin",
)


def card_dict(card: Card, with_sources: bool = False) -> dict[str, Any]:
    """One card: its catalogue fields, ``features`` and PyTorch-visible memory."""
    out: dict[str, Any] = {k: getattr(card, k) for k in CARD_KEYS}
    out["features"] = list(card.features)
    usable = usable_memory(card)
    out["usable_memory_bytes"] = usable.bytes
    out["usable_memory_measured"] = usable.measured
    if with_sources:
        out["aliases"] = list(card.aliases)
        out["notes"] = card.notes
        out["sources"] = card.sources
    return out


def cards_doc(catalog: Catalog, cards: list[Card]) -> dict[str, Any]:
    return envelope(
        catalog_date=catalog.date, count=len(cards), cards=[card_dict(c) for c in cards]
    )


def card_doc(catalog: Catalog, card: Card) -> dict[str, Any]:
    return envelope(catalog_date=catalog.date, **card_dict(card, with_sources=True))


def model_doc(spec: ModelSpec) -> dict[str, Any]:
    """A model: exact counts, shapes, parameters by part and weight bytes per dtype."""
    doc = envelope(
        name=spec.name,
        model_type=spec.model_type,
        source=spec.source,
        kind=spec.kind,
        params=spec.params,
        active_params=spec.active_params,
        trained_params=spec.trained_params,
        counted_by=spec.counted_by,
        shapes={
            "vocab_size": spec.vocab_size,
            "hidden_size": spec.hidden_size,
            "num_layers": spec.num_layers,
            "num_attention_heads": spec.num_attention_heads,
            "num_kv_heads": spec.num_kv_heads,
            "head_dim": spec.head_dim,
            "intermediate_size": spec.intermediate_size,
            "max_position_embeddings": spec.max_position_embeddings,
            "tie_word_embeddings": spec.tie_word_embeddings,
            "attention": spec.attention,
            "mlp": spec.mlp,
            "norm": spec.norm,
            "activation": spec.activation,
            "num_experts": spec.num_experts,
            "num_experts_per_tok": spec.num_experts_per_tok,
            "moe_layers": spec.moe_layers,
            "sliding_window": spec.sliding_window,
            "kv_lora_rank": spec.kv_lora_rank,
            "qk_rope_head_dim": spec.qk_rope_head_dim,
            "v_head_dim": spec.v_head_dim,
            "dtype": spec.dtype,
        },
        params_by_part=spec.params_by_part(),
        weights_bytes={d: weights_bytes(spec, d) for d in WEIGHT_DTYPES},
        assumptions=list(spec.assumptions),
    )
    if spec.kind == "encoder":
        doc["trained_params_by_part"] = spec.params_by_part(spec.train_blocks)
    return doc


def doctor_doc(report: Any, kb_date: str, catalog_date: str) -> dict[str, Any]:
    """``gpuwise doctor``: the machine, what was checked, and one verdict per card.

    ``cards[]``: ``name``, ``compute_capability``, ``architecture``, ``problems[]`` (``code``,
    ``severity``, ``message``), ``advice[]`` (``code``, ``message``), ``install`` (``command``,
    ``torch``, ``cuda``, ``index_url``, ``min_driver``, ``driver_compat``, ``note``).
    """
    from dataclasses import asdict

    m = report.machine
    return envelope(
        kb_date=kb_date,
        catalog_date=catalog_date,
        mode=m.mode,
        system={
            "os": m.os,
            "os_detail": m.os_detail,
            "python": m.python,
            "driver": m.driver,
            "gpu_source": m.gpu_source,
            "nvcc": m.nvcc,
            "torch": None
            if m.torch is None
            else {
                "version": m.torch.version,
                "cuda": m.torch.cuda,
                "arch_list": report.torch_arch_list,
                "arch_list_detected": m.torch.arch_list is not None,
                "cuda_available": m.torch.cuda_available,
                "how": m.torch.how,
            },
            "libraries": dict(m.libraries),
        },
        checked=[asdict(c) for c in m.checks],
        what_it_checks=list(report.what_it_checks),
        problems=[asdict(p) for p in m.problems],
        install=None if report.install is None else asdict(report.install),
        cards=[
            {
                "name": c.name,
                "compute_capability": c.compute_capability,
                "architecture": c.architecture,
                "slug": c.catalog_slug,
                "memory_total_bytes": c.memory_total_bytes,
                "memory_used_bytes": c.memory_used_bytes,
                "features": c.features,
                "problems": [asdict(p) for p in c.problems],
                "advice": [asdict(a) for a in c.advice],
                "install": None if c.install is None else asdict(c.install),
            }
            for c in report.cards
        ],
    )
