"""``recommend`` over clusters as a JSON document (what ``--json`` prints and the tables read)."""

from __future__ import annotations

from gpuwise.i18n import Message
from gpuwise.render.document import envelope
from gpuwise.render.plan_json import workload_dict

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

    from gpuwise.cluster.recommend import ClusterOption, ClusterRecommendation
    from gpuwise.models.spec import ModelSpec
    from gpuwise.workload import Workload

GIB = 2**30


def cluster_recommend_doc(
    rec: ClusterRecommendation, spec: ModelSpec, w: Workload, catalog_date: str, top: int
) -> dict[str, Any]:
    """The ranked clusters (at most ``top``; 0: all), what was searched and the notes."""
    shown = rec.options if top == 0 else rec.options[:top]
    return envelope(
        **{
            "kind": "cluster_recommend",
            "catalog_date": catalog_date,
            "model": {"name": spec.name, "params": spec.params},
            "workload": workload_dict(w),
            "tokens": rec.tokens,
            "objective": rec.objective,
            "global_batch": rec.global_batch,
            "deadline_s": rec.deadline_s,
            "currency": rec.currency,
            "clusters_tried": rec.clusters_tried,
            "clusters_without_fit": rec.clusters_without_fit,
            "options_total": len(rec.options),
            "options": [_option(i + 1, o, rec.currency) for i, o in enumerate(shown)],
            "notes": list(rec.notes),
        }
    )


def _option(rank: int, o: ClusterOption, currency: str) -> dict[str, Any]:
    t, lay = o.time, o.layout
    return {
        "rank": rank,
        "gpu": o.card.name,
        "slug": o.card.slug,
        "nodes": o.nodes,
        "gpus_per_node": o.gpus_per_node,
        "gpus": o.world,
        "count": o.world,
        "strategy": lay.sharding,
        "fits": True,
        "ok": o.meets is not False,
        "network": o.network.key if o.network is not None else None,
        "network_name": o.network.name if o.network is not None else None,
        "layout": lay.text(),
        "tp": lay.tp,
        "pp": lay.pp,
        "cp": lay.cp,
        "dp": lay.dp,
        "sharding": lay.sharding,
        "sequence_parallel": lay.sequence_parallel,
        "schedule": lay.schedule,
        "virtual_stages": lay.virtual_stages,
        "micro_batches": lay.micro_batches,
        "memory_per_gpu_bytes": o.memory.total,
        "memory_gib_per_gpu": round(o.memory.total / GIB, 2),
        "step_s": t.step_s,
        "tokens_per_s": t.tokens_per_s,
        "tokens_per_s_low": t.tokens_per_s_low,
        "tokens_per_s_high": t.tokens_per_s_high,
        "mfu": round(t.mfu, 4),
        "run_s": o.run_s,
        "time_s": o.run_s,
        "meets_deadline": o.meets,
        "price_per_gpu_hour": o.hourly,
        "price_source": o.price_source,
        "cost": None if o.cost is None else round(o.cost, 2),
        "currency": currency,
        "cost_usd": None if o.cost is None or currency != "usd" else round(o.cost, 2),
        "reason": None if o.meets is not False else Message("cluster_rec.reason.late"),
        "why": list(o.why),
        "notes": list(t.notes),
    }
