"""Domain objects -> JSON documents (the contract in the README's "JSON output" section).

Every document carries ``schema_version`` and ``gpuwise_version``; card data carries
``catalog_date``. Bytes are integers. Keys are stable: a change of meaning bumps
``SCHEMA_VERSION``.
"""

from __future__ import annotations

import json
from typing import Any

from gpuwise._version import SCHEMA_VERSION, __version__
from gpuwise.catalog import Card, Catalog, usable_memory
from gpuwise.catalog.card import FIGURE_FIELDS
from gpuwise.memory.weights import WEIGHT_DTYPES, weights_bytes
from gpuwise.models.spec import ModelSpec

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


def envelope(**fields: Any) -> dict[str, Any]:
    return {"schema_version": SCHEMA_VERSION, "gpuwise_version": __version__, **fields}


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


def dumps(doc: dict[str, Any]) -> str:
    return json.dumps(doc, indent=2, ensure_ascii=False)


def workload_dict(w: Any) -> dict[str, Any]:
    out = {
        "task": w.task,
        "batch": w.batch,
        "seq": w.seq,
        "tokens_per_step": w.tokens,
    }
    if w.task == "train":
        out.update(
            method=w.method,
            precision=w.precision,
            grad_checkpointing=w.grad_checkpointing,
            optimizer=w.optimizer,
        )
        if w.is_lora:
            out.update(lora_rank=w.lora_rank, lora_targets=list(w.lora_targets))
    else:
        out.update(
            weight_dtype=w.stored_weight_dtype, kv_dtype=w.cache_dtype, precision=w.precision
        )
    return out


def parallel_dict(p: Any, w: Any, host_bytes: int) -> dict[str, Any]:
    """How the step is spread over cards; memory figures are then per card (rank)."""
    return {
        "strategy": p.strategy,
        "gpus": p.gpus,
        "engine": p.engine,
        "shard_size": p.shard_size,
        "grad_accum": p.grad_accum,
        "global_batch": w.batch * p.global_batch_factor,
        "host_ram_bytes": host_bytes,
        "memory_is_per_gpu": p.strategy != "single",
    }


def plan_doc(plan: Any, catalog_date: str) -> dict[str, Any]:
    """A plan: the model, the workload, the memory and one entry per card."""
    spec = plan.spec
    return envelope(
        catalog_date=catalog_date,
        model={
            "name": spec.name,
            "model_type": spec.model_type,
            "params": spec.params,
            "trained_params": spec.trained_params,
            "active_params": spec.active_params,
            "max_position_embeddings": spec.max_position_embeddings,
        },
        workload=workload_dict(plan.workload),
        tokens=plan.tokens,
        reserve_bytes=plan.reserve_bytes,
        memory=plan.memory.to_dict(),
        parallel=parallel_dict(plan.parallel, plan.workload, plan.host_bytes),
        cards=[
            {
                "name": c.card.name,
                "slug": c.card.slug,
                "fits": c.fits,
                "problems": c.problems,
                "headroom_bytes": c.headroom_bytes,
                "usable_memory_bytes": c.usable_bytes,
                "usable_memory_measured": c.usable_measured,
                "max_batch": c.max_batch,
                "max_seq": c.max_seq,
                "time": c.time,
            }
            for c in plan.cards
        ],
    )


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


def _change_dict(c: Any) -> dict[str, Any]:
    return {
        "change": c.what,
        "fits": c.fits,
        "required_per_gpu_bytes": c.required_bytes,
        "tokens_per_s": c.tokens_per_s,
        "speed_vs_now": c.speed,
        "caveat": c.caveat,
        "strategy": c.parallel.strategy,
        "gpus": c.parallel.gpus,
        "grad_accum": c.parallel.grad_accum,
        "workload": workload_dict(c.workload),
    }


def advice_doc(a: Any) -> dict[str, Any]:
    """What to change so the job fits a card (:class:`gpuwise.recommend.advice.Advice`)."""
    return {
        "card": a.card.name,
        "slug": a.card.slug,
        "why": a.why,
        "fits_as_asked": a.fits_as_asked,
        "required_bytes": a.required_bytes,
        "usable_bytes": a.usable_bytes,
        "fits_alone": [_change_dict(c) for c in a.fits_alone],
        "not_enough": [_change_dict(c) for c in a.not_enough],
        "stacked": None if a.stacked is None else _change_dict(a.stacked),
    }


def option_dict(rank: int, o: Any, currency: str, reserve: int = 0) -> dict[str, Any]:
    """One option of ``gpuwise recommend`` (``usable_memory_bytes`` as in ``plan``: what
    PyTorch sees, before ``--reserve``; ``headroom_bytes`` after it)."""
    m, t, p = o.memory, o.time, o.parallel
    return {
        "rank": rank,
        "gpu": o.card.name,
        "slug": o.card.slug,
        "count": o.count,
        "strategy": p.strategy if p else None,
        "engine": p.engine if p else None,
        "fits": o.fits,
        "ok": o.fits and o.reason is None,
        "memory_per_gpu_bytes": m.peak_allocated_bytes if m else None,
        "required_per_gpu_bytes": m.required_bytes if m else None,
        "usable_memory_bytes": o.usable_bytes + reserve,
        "headroom_bytes": o.headroom_bytes,
        "host_ram_bytes": m.host_bytes if m else None,
        "breakdown": m.breakdown if m else None,
        "tokens_per_s": o.tokens_per_s,
        "step_s": t.step_s if t else None,
        "time_s": t.time_s if t else None,
        "comm_s": t.comm_s if t else None,
        "energy_kwh": t.energy_kwh if t else None,
        "cost": o.cost,
        "currency": currency,
        "cost_usd": o.cost if currency == "usd" else None,
        "tokens_per_cost": o.tokens_per_cost,
        "pricing": o.pricing,
        "price_source": o.price_source,
        "power_w": o.power_w,
        "link": t.link if t else None,
        "reason": o.reason,
        "notes": ([*m.notes] if m else []) + o.notes + (list(t.notes) if t else []),
    }


def recommend_doc(rec: Any, catalog_date: str, top: int, advice: Any = None) -> dict[str, Any]:
    """``advice``: an :class:`~gpuwise.recommend.advice.Advice` or None."""
    """``gpuwise recommend``: ranked options (usable first), each with why it is held back."""
    c = rec.constraints
    ranked = rec.options if top <= 0 else rec.options[:top]
    usable = sum(1 for o in rec.options if o.fits and o.reason is None)
    return envelope(
        catalog_date=catalog_date,
        model={
            "name": rec.spec.name,
            "model_type": rec.spec.model_type,
            "params": rec.spec.params,
        },
        workload=workload_dict(rec.workload),
        tokens=rec.tokens,
        objective=rec.objective,
        constraints={
            "budget": c.budget,
            "currency": c.currency,
            "max_gpus": c.max_gpus,
            "max_power_w": c.max_power_w,
            "deadline_s": c.deadline_s,
            "host_ram_bytes": c.host_ram_bytes,
            "reserve_bytes": c.reserve_bytes,
            "offload": c.offload,
        },
        prices={"currency": rec.prices.currency, "file": rec.prices.path},
        cards_considered=rec.cards_considered,
        options_total=len(rec.options),
        options_ok=usable,
        options=[
            option_dict(i + 1, o, rec.prices.currency, c.reserve_bytes)
            for i, o in enumerate(ranked)
        ],
        advice=None if advice is None else advice_doc(advice),
    )
