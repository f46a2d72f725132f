"""A cluster plan as the plan document's ``cards[].cluster`` (JSON: the same in every language
but the prose of notes and changes)."""

from __future__ import annotations

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

    from gpuwise.cluster.layout import Layout
    from gpuwise.cluster.memory import GpuMemory
    from gpuwise.cluster.plan import ClusterPlan


def layout_dict(layout: Layout) -> dict[str, Any]:
    return {
        "tp": layout.tp,
        "pp": layout.pp,
        "cp": layout.cp,
        "dp": layout.dp,
        "sharding": layout.sharding,
        "sequence_parallel": layout.sequence_parallel,
        "schedule": layout.schedule,
        "virtual_stages": layout.virtual_stages,
        "micro_batches": layout.micro_batches,
        "text": layout.text(),
    }


def memory_dict(m: GpuMemory) -> dict[str, Any]:
    return {
        "weights": m.weights,
        "gradients": m.gradients,
        "optimizer": m.optimizer,
        "activations": m.activations,
        "temporaries": m.temporaries,
        "comm_buffers": m.comm_buffers,
        "cuda_context": m.cuda_context,
        "total": m.total,
        "stage": m.stage,
        "in_flight": m.in_flight,
        "notes": list(m.notes),
    }


def time_dict(t: Any, tokens: int | None = None) -> dict[str, Any] | None:
    """A layout's step time; with ``tokens`` (--tokens) the time to train them at its rate
    (``time_to_train_s``, null without)."""
    if t is None:
        return None
    keys = (
        "step_s",
        "compute_s",
        "tp_comm_s",
        "cp_comm_s",
        "pp_p2p_s",
        "pp_bubble_s",
        "dp_comm_s",
        "tokens_per_s",
        "tokens_per_s_low",
        "tokens_per_s_high",
        "mfu",
    )
    out: dict[str, Any] = {k: getattr(t, k) for k in keys if hasattr(t, k)}
    tps = out.get("tokens_per_s")
    out["time_to_train_s"] = tokens / tps if tokens and tps else None
    out["notes"] = list(getattr(t, "notes", []))
    return out


def cluster_dict(p: ClusterPlan, tokens: int | None = None) -> dict[str, Any]:
    c = p.cluster
    return {
        "nodes": c.nodes,
        "gpus_per_node": c.gpus_per_node,
        "world": c.world,
        "network": None if c.network is None else c.network.key,
        "nics_per_node": c.nics_per_node,
        "layout": layout_dict(p.layout),
        "global_batch_factor": p.layout.dp * p.layout.micro_batches,
        "per_gpu_memory": {**memory_dict(p.memory), "usable": p.usable_bytes, "fits": p.fits},
        "time": time_dict(p.time, tokens),
        "why": list(p.why),
        "alternatives": [
            {
                "layout": layout_dict(a[0]),
                "per_gpu_memory": memory_dict(a[1]),
                "time": time_dict(a[2]),
                "why": list(a[3]) if len(a) > 3 else [],
            }
            for a in p.alternatives
        ],
        "changes": [
            {
                "change": ch.what,
                "layout": layout_dict(ch.layout),
                "nodes": ch.nodes,
                "grad_checkpointing": ch.grad_checkpointing,
                "total": ch.memory.total,
            }
            for ch in p.changes
        ],
    }


def cluster_plan_doc(
    doc: dict[str, Any], plans: list[ClusterPlan], tokens: int | None = None
) -> None:
    """Turn a plan document into a cluster plan's: each card's ``cluster``, and its verdict
    (``fits``, ``headroom_bytes``) the cluster's. What described one machine of the cards (the
    top-level ``memory`` and ``parallel``, a card's ``memory``, ``time``, ``max_batch``,
    ``max_seq`` and ``problems``, the one-machine ``advice``) is null: the cluster's own are
    in ``cluster`` (its ``changes`` are the advice)."""
    for entry, p in zip(doc["cards"], plans, strict=True):
        entry["cluster"] = cluster_dict(p, tokens)
        entry["fits"] = p.fits
        entry["headroom_bytes"] = p.usable_bytes - p.memory.total
        entry["usable_memory_bytes"] = p.usable_bytes
        for key in ("memory", "time", "max_batch", "max_seq"):
            entry[key] = None
        entry["problems"] = []
    doc["memory"] = None
    doc["parallel"] = None
    doc["advice"] = None
    doc["card_advice"] = []
