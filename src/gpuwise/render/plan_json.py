"""Plans, recommendations and advice -> JSON documents (the README's "JSON output" section).

Typed results in, plain dicts out: the command line prints these documents with ``--json`` and
builds its tables from them, so a number on screen is always the number in the JSON.
"""

from __future__ import annotations

from gpuwise.memory.estimate import MemoryEstimate
from gpuwise.memory.rank import RankMemory
from gpuwise.parallel import Parallel
from gpuwise.render.document import envelope
from gpuwise.render.price_json import option_price_keys, prices_dict
from gpuwise.timing.estimate import InferTime, TrainTime
from gpuwise.workload import Workload

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

    from gpuwise.plan.advice import Advice, Change
    from gpuwise.plan.make import CardPlan, Plan
    from gpuwise.plan.precision import CardPrecision
    from gpuwise.plan.time import CardTime
    from gpuwise.recommend.options import Option, Recommendation


def workload_dict(w: Workload, given: bool | None = None) -> dict[str, Any]:
    """The workload as understood; ``given``: whether the user chose its precision (the
    workload's own flag unless said; a card's resolved workload has lost it)."""
    out: dict[str, Any] = {
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
        out.update(loss=w.loss, ckpt_offload=w.ckpt_offload, packing=w.packing)  # the tricks
        if w.method == "qlora":
            out["upcast"] = w.upcast
        if w.tricks:
            from gpuwise.memory.tricks import tricks_dict

            out["tricks"] = tricks_dict(w)
    else:
        out.update(
            weight_dtype=w.stored_weight_dtype, kv_dtype=w.cache_dtype, precision=w.precision
        )
    out["precision_given"] = w.precision_given if given is None else given
    return out


def precision_dict(c: CardPrecision | None) -> dict[str, Any]:
    """A card's (or an option's) precision: which, whether the user chose it, why, and a
    warning when the card cannot run a chosen one natively."""
    if c is None:
        return {}
    return {
        "precision": c.precision,
        "precision_given": c.given,
        "precision_note": c.note,
        "precision_warning": c.warning,
    }


def first_workload(first: CardPlan | Option | None, asked: Workload) -> dict[str, Any]:
    """The top-level ``workload`` of a plan or a recommendation: as its first card (or
    option) runs it, and whether the user chose that precision; ``asked`` without one."""
    if first is None or first.workload is None or first.precision is None:
        return workload_dict(asked)
    return workload_dict(first.workload, first.precision.given)


def parallel_dict(p: Parallel, w: Workload, host_bytes: int) -> dict[str, Any]:
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


def memory_dict(m: MemoryEstimate | RankMemory) -> dict[str, Any]:
    """The ``memory`` object of ``plan --json`` (and of ``probe``'s ``analytic``)."""
    e = m.estimate if isinstance(m, RankMemory) else m
    return {
        "peak_allocated_bytes": e.peak_allocated_bytes,
        "required_bytes": e.required_bytes,
        "peak_phase": e.peak_phase,
        "breakdown": {**e.breakdown, "overhead": e.context_bytes + e.allocator_bytes},
        "overhead": {
            "cuda_context_bytes": e.context_bytes,
            "allocator_bytes": e.allocator_bytes,
        },
        "terms_from": e.terms_from,
        "notes": list(e.notes),
    }


def time_dict(t: CardTime) -> dict[str, Any]:
    """The ``time`` object of one card in ``plan --json``."""
    if isinstance(t, InferTime):
        return {
            "prefill_tokens_per_s": t.prefill_tokens_per_s,
            "decode_tokens_per_s": t.decode_tokens_per_s,
            "energy_kwh": t.energy_kwh,
            "bandwidth_efficiency": t.bandwidth_efficiency,
            "decode_bound": t.decode_bound,
            "time_to_generate_s": t.time_to_generate_s,
            "notes": list(t.notes),
        }
    if isinstance(t, TrainTime):
        return {
            "train_tokens_per_s": t.train_tokens_per_s,
            "step_s": t.step_s,
            "time_to_train_s": t.time_to_train_s,
            "energy_kwh": t.energy_kwh,
            "mfu": t.mfu,
            "tokens_per_s_low": t.tokens_per_s_low,
            "tokens_per_s_high": t.tokens_per_s_high,
            "notes": list(t.notes),
        }
    return {  # a ParallelTime (several cards, or accumulation)
        "train_tokens_per_s": t.train_tokens_per_s,
        "step_s": t.step_s,
        "compute_s": t.compute_s,
        "comm_s": t.comm_s,
        "exposed_comm_s": t.exposed_comm_s,
        "offload_s": t.offload_s,
        "time_to_train_s": t.time_to_train_s,
        "energy_kwh": t.energy_kwh,
        "mfu": t.mfu,
        "tokens_per_s_low": t.tokens_per_s_low,
        "tokens_per_s_high": t.tokens_per_s_high,
        "link": {"kind": t.link.kind, "gb_s": t.link.gb_s, "note": t.link.note},
        "notes": list(t.notes),
    }


def _engine(plan: Plan) -> dict[str, Any]:
    """``engine`` for a llama.cpp / Ollama plan (transformers' documents are unchanged)."""
    if plan.engine is None:
        return {}
    if plan.engine.engine == "vllm":
        from gpuwise.infer.vllm_card import engine_dict as vllm_engine_dict

        return {"engine": vllm_engine_dict(plan.engine)}  # type: ignore[arg-type]
    from gpuwise.infer.card import engine_dict

    return {"engine": engine_dict(plan.engine)}  # type: ignore[arg-type]


def _offload(c: CardPlan) -> dict[str, Any]:
    if c.offload is None:
        return {}
    from gpuwise.infer.card import offload_dict

    return offload_dict(c.offload)  # with several cards also the machine's name and per_gpu


def _serving(c: CardPlan) -> dict[str, Any]:
    if c.serving is None:
        return {}
    from gpuwise.infer.vllm_card import serving_dict

    return {"serving": serving_dict(c.serving)}  # vLLM


def plan_doc(plan: Plan, catalog_date: str) -> dict[str, Any]:
    """A plan: the model, the workload, the memory, one entry per card, and the advice
    (``card_advice``: for each card that does not fit; ``advice``: the one nearest to fitting). The
    top-level ``memory`` and ``workload.precision`` are the first card's (each card's own are
    in ``cards[]``: with no ``--precision`` cards may differ)."""
    spec = plan.spec
    doc = envelope(
        catalog_date=catalog_date,
        model={
            "name": spec.name,
            "model_type": spec.model_type,
            "params": spec.params,
            "trained_params": spec.trained_params,
            "active_params": spec.active_params,
            "max_position_embeddings": spec.max_position_embeddings,
        },
        workload=first_workload(plan.cards[0] if plan.cards else None, plan.workload),
        tokens=plan.tokens,
        reserve_bytes=plan.reserve_bytes,
        memory=memory_dict(plan.memory),
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
                "time": time_dict(c.time),
                **precision_dict(c.precision),
                "memory": memory_dict(c.memory),
                **_offload(c),
                **_serving(c),
            }
            for c in plan.cards
        ],
        **_engine(plan),
        advice=None if plan.advice is None else advice_doc(plan.advice),
        card_advice=[advice_doc(a) for a in plan.card_advice],
    )
    if plan.engine is not None:  # llama.cpp / Ollama / vLLM: their types, cards, no precision
        from gpuwise.render.infer_json import plan_engine_keys

        plan_engine_keys(doc)
    return doc


def _change_dict(c: Change) -> dict[str, Any]:
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


def advice_doc(a: Advice) -> dict[str, Any]:
    """What to change so the job fits a card."""
    if getattr(a, "engine", None) == "llama.cpp":  # a GGUF model (gpuwise.infer.advice)
        from gpuwise.infer.advice import advice_dict

        return advice_dict(a)  # type: ignore[arg-type]
    return {
        "card": a.card.name,
        "slug": a.card.slug,
        "why": a.why,
        "fits_as_asked": a.fits_as_asked,
        "required_bytes": a.required_bytes,
        "usable_bytes": a.usable_bytes,
        "strategy": a.parallel.strategy,
        "gpus": a.parallel.gpus,
        "fits_alone": [_change_dict(c) for c in a.fits_alone],
        "not_enough": [_change_dict(c) for c in a.not_enough],
        "stacked": None if a.stacked is None else _change_dict(a.stacked),
        "workload": None if a.workload is None else workload_dict(a.workload),
    }


def option_dict(rank: int, o: Option, currency: str, reserve: int = 0) -> dict[str, Any]:
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
        # training's range (the step model's calibration); inference has none
        "tokens_per_s_low": getattr(t, "tokens_per_s_low", None),
        "tokens_per_s_high": getattr(t, "tokens_per_s_high", None),
        "step_s": t.step_s if t else None,
        "time_s": t.run_s if t else None,
        "comm_s": _comm_s(t),
        "energy_kwh": t.energy_kwh if t else None,
        "cost": o.cost,
        "currency": currency,
        "cost_usd": o.cost if currency == "usd" else None,
        "tokens_per_cost": o.tokens_per_cost,
        "cost_to_finish": o.finish_cost,
        "cost_per_million_tokens": o.cost_per_mtok,
        "changes": list(o.changes),
        "pricing": o.pricing,
        "price_source": o.price_source,
        **option_price_keys(o),
        "power_w": o.power_w,
        "link": _link(t) if o.count > 1 else None,
        "reason": o.reason,
        "notes": ([*m.notes] if m else []) + o.notes + (list(t.notes) if t else []),
        **precision_dict(o.precision),
    }


def _comm_s(t: CardTime | None) -> float | None:
    """Seconds of collectives per step: none on one card, unknown (None) for inference."""
    if t is None or isinstance(t, InferTime):
        return None
    return 0.0 if isinstance(t, TrainTime) else t.comm_s


def _link(t: CardTime | None) -> str | None:
    """The link several cards' collectives use (training only)."""
    if t is None or isinstance(t, (InferTime, TrainTime)):
        return None
    return t.link.kind


def recommend_doc(rec: Recommendation, catalog_date: str, top: int) -> dict[str, Any]:
    """``gpuwise recommend``: ranked options (usable first), each with why it is held back,
    and the advice when there is one; ``cost_basis``: what the cost to finish assumes."""
    from gpuwise.recommend.options import service_hours

    c = rec.constraints
    ranked = rec.options if top <= 0 else rec.options[:top]
    usable = len(rec.usable)
    return envelope(
        catalog_date=catalog_date,
        model={
            "name": rec.spec.name,
            "model_type": rec.spec.model_type,
            "params": rec.spec.params,
        },
        workload=first_workload(rec.options[0] if rec.options else None, rec.workload),
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
        prices=prices_dict(rec.prices),
        cost_basis={"service_hours": service_hours(), "electricity": False},
        cards_considered=rec.cards_considered,
        options_total=len(rec.options),
        options_ok=usable,
        options=[
            option_dict(i + 1, o, rec.prices.currency, c.reserve_bytes)
            for i, o in enumerate(ranked)
        ],
        advice=None if rec.advice is None else advice_doc(rec.advice),
    )
