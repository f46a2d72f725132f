"""``gpuwise probe MODEL --simulate --layout tp=..,pp=.. [--nodes M --gpus N --network NET]``:
one rank of the layout's fullest pipeline stage on fake tensors, beside the cluster plan's
figure for that stage."""

from __future__ import annotations

import argparse
from typing import Any

from gpuwise.cli.common import emit
from gpuwise.errors import GpuwiseError
from gpuwise.i18n import Message
from gpuwise.memory.estimate import overheads
from gpuwise.models.spec import ModelSpec
from gpuwise.plan.defaults import defaults
from gpuwise.plan.precision import CardPrecision
from gpuwise.render.document import envelope
from gpuwise.render.plan_json import workload_dict
from gpuwise.workload import Workload


def run_cluster_simulation(
    args: argparse.Namespace,
    config: dict[str, Any],
    spec: ModelSpec,
    w: Workload,
    chosen: CardPrecision,
) -> int:
    """Simulate the stage the cluster plan finds fullest; ``w`` in its precision."""
    from gpuwise.catalog import load_catalog
    from gpuwise.cli.cluster_flags import cluster_from
    from gpuwise.cluster.layout import layout_problem
    from gpuwise.cluster.memory import gpu_memory
    from gpuwise.probe.simulate_cluster import analytic_tensor_bytes, simulate_cluster

    # a rank's memory does not depend on the card: the plan's default data-centre card
    card = load_catalog().find(defaults()["cards"][-1])
    cluster, layout = cluster_from(args, card)
    if layout is None:
        raise GpuwiseError(Message("simcluster.error.auto"))
    problem = layout_problem(spec, w, cluster, layout)
    if problem is not None:
        raise GpuwiseError(Message("simcluster.error.layout", problem=problem))
    planned = gpu_memory(spec, w, cluster, layout)
    sim = simulate_cluster(config, spec, w, layout, stage=planned.stage)
    tensors = analytic_tensor_bytes(planned, layout)
    context, allocator = overheads(sim.peak_allocated_bytes)
    doc = envelope(
        model={"name": spec.name, "model_type": spec.model_type, "params": spec.params},
        workload=workload_dict(w, chosen.given),
        cluster={
            "nodes": cluster.nodes,
            "gpus_per_node": cluster.gpus_per_node,
            "layout": layout.text(),
            "stage": sim.stage,
            "stages": sim.stages,
            "layers": list(sim.layers),
        },
        memory={
            "peak_allocated_bytes": sim.peak_allocated_bytes,
            "required_bytes": sim.peak_allocated_bytes + context + allocator,
            "peak_phase": sim.peak_phase,
            "in_flight": sim.in_flight,
            "breakdown": {**sim.breakdown, "overhead": context + allocator},
            "detail": sim.detail,
        },
        analytic={
            "peak_allocated_bytes": tensors,
            "required_bytes": planned.total,
            "in_flight": planned.in_flight,
            "breakdown": {
                "weights": planned.weights,
                "gradients": planned.gradients,
                "optimizer": planned.optimizer,
                "activations": planned.activations,
                "temporaries": planned.temporaries,
                "comm_buffers": planned.comm_buffers,
                "overhead": planned.cuda_context,
            },
        },
        error=(tensors - sim.peak_allocated_bytes) / sim.peak_allocated_bytes,
        attn_implementation=sim.attn_implementation,
        simulated_on=sim.versions,
        notes=[str(n) for n in sim.notes],  # said in the language in use
        seconds=round(sim.seconds, 2),
    )
    from gpuwise.render.probe_cluster_table import probe_cluster_table

    return emit(args, doc, probe_cluster_table)
