"""Measured figures beside the plan's: the ``probe --measure`` document. No torch.

Errors are ``(plan - measured) / measured``: positive when the plan says more than was measured.
``peak_error`` compares the plan's ``peak_allocated_bytes`` with ``max_memory_allocated``;
``required_error`` compares ``required_bytes`` with ``max_memory_reserved`` plus the CUDA context
(a negative ``required_error`` means the plan would have let a run start that needs more).
"""

from __future__ import annotations

from typing import Any

from gpuwise.catalog import Card, load_catalog
from gpuwise.i18n import t
from gpuwise.memory.rank import RankMemory
from gpuwise.models.spec import ModelSpec
from gpuwise.plan.fit import problems
from gpuwise.plan.time import CardTime, card_time
from gpuwise.probe.measure import Measured
from gpuwise.render.plan_json import memory_dict, time_dict
from gpuwise.timing.estimate import InferTime
from gpuwise.workload import Workload


def detect_card(device_name: str, total_memory_bytes: int | None = None) -> Card | None:
    """The catalogue's card for a CUDA device ("NVIDIA H200" and the memory it reports, which
    tells memory variants apart), or None if unknown."""
    return load_catalog().for_device(device_name, total_memory_bytes)


def _error(plan: float | None, measured: float | None) -> float | None:
    if plan is None or not measured:
        return None
    return (plan - measured) / measured


def measured_dict(m: Measured, tokens_per_step: int) -> dict[str, Any]:
    """The ``measured`` object of the document."""
    step = m.median_step_s
    required = None
    if m.peak_reserved_bytes is not None and m.context_bytes is not None:
        required = m.peak_reserved_bytes + m.context_bytes
    return {
        "device": m.device,
        "device_name": m.device_name,
        "oom": m.oom,
        "oom_during": m.oom_during,
        "oom_message": m.oom_message,
        "peak_allocated_bytes": m.peak_allocated_bytes,
        "peak_reserved_bytes": m.peak_reserved_bytes,
        "driver_used_bytes": m.driver_used_bytes,
        "driver_source": m.driver_source,
        "context_bytes": m.context_bytes,
        "reserved_plus_context_bytes": required,
        "total_memory_bytes": m.total_memory_bytes,
        "warmup_steps": m.warmup,
        "step_s": step,
        "step_s_all": m.step_s,
        "tokens_per_s": tokens_per_step / step if step else None,
    }


def plan_verdict(memory: RankMemory, m: Measured, blocked: bool = False) -> dict[str, Any]:
    """Whether the plan said the run fits the device measured on (its real total memory), and
    whether the run agreed. ``blocked``: the plan says the card cannot run the workload."""
    total = m.total_memory_bytes
    says_fits = None if total is None else memory.required_bytes <= total and not blocked
    verdict: dict[str, Any] = {"plan_says_fits": says_fits, "agrees": None, "message": None}
    if says_fits is None or m.device != "cuda":
        return verdict
    verdict["agrees"] = says_fits != m.oom
    if m.oom:
        verdict["message"] = t(
            "measure.verdict.oom_agrees" if not says_fits else "measure.verdict.oom_short"
        )
    elif not says_fits:
        verdict["message"] = t("measure.verdict.cautious")
    return verdict


def measure_doc_fields(
    spec: ModelSpec, w: Workload, m: Measured, memory: RankMemory
) -> dict[str, Any]:
    """Everything of the document but the envelope: measured, planned, errors, verdict."""
    tokens_per_step = w.batch * w.seq
    measured = measured_dict(m, tokens_per_step)
    card = detect_card(m.device_name, m.total_memory_bytes) if m.device == "cuda" else None
    notes = [str(n) for n in m.notes]  # said in the language in use
    plan_time: CardTime | None = None
    blockers: list[str] = []
    if card is not None:
        plan_time = card_time(spec, w, card, memory=memory)
        blockers = [str(why) for why in problems(w, card)]  # said in the language in use
        notes.extend(blockers)
    elif m.device == "cuda":
        notes.append(t("measure.note.not_catalogued", name=repr(m.device_name)))
    else:
        notes.append(t("measure.note.cpu"))
    plan_tps = None
    if plan_time is not None:  # the step measured: a training step, or a prefill
        plan_tps = (
            plan_time.prefill_tokens_per_s
            if isinstance(plan_time, InferTime)
            else plan_time.tokens_per_s
        )
    errors = {
        "peak_error": _error(memory.peak_allocated_bytes, m.peak_allocated_bytes),
        "required_error": _error(memory.required_bytes, measured["reserved_plus_context_bytes"]),
        "tokens_per_s_error": _error(plan_tps, measured["tokens_per_s"]),
    }
    return {
        "card": None if card is None else {"name": card.name, "slug": card.slug},
        "measured": measured,
        "plan": {
            "memory": memory_dict(memory),
            "time": None if plan_time is None else time_dict(plan_time),
            "tokens_per_s": plan_tps,
        },
        "errors": errors,
        "verdict": plan_verdict(memory, m, bool(blockers)),
        "attn_implementation": m.attn_implementation,
        "measured_on": m.versions,
        "seconds": round(m.seconds, 2),
        "notes": notes,
    }
