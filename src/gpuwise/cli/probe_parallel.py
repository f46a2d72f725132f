"""``gpuwise probe MODEL --simulate --strategy ddp|fsdp|fsdp-hybrid --gpus N``: one rank's
exact peak (rank 0 on torch's fake process group, fake tensors), beside the analytic figure."""

from __future__ import annotations

import argparse
from typing import Any

from gpuwise.cli.common import emit
from gpuwise.memory.estimate import overheads
from gpuwise.memory.rank import per_rank_memory
from gpuwise.models.spec import ModelSpec
from gpuwise.parallel import Parallel
from gpuwise.plan.precision import CardPrecision
from gpuwise.render.document import envelope
from gpuwise.render.plan_json import memory_dict, workload_dict
from gpuwise.workload import Workload


def run_parallel_simulation(
    args: argparse.Namespace,
    config: dict[str, Any],
    spec: ModelSpec,
    w: Workload,
    chosen: CardPrecision,
    p: Parallel,
) -> int:
    """``w`` in its precision, ``chosen`` as :func:`gpuwise.plan.precision.for_card` said."""
    from gpuwise.probe.simulate_parallel import simulate_parallel

    sim = simulate_parallel(config, spec, w, p)
    rank = per_rank_memory(spec, w, p)
    context, allocator = overheads(sim.peak_allocated_bytes)
    doc = envelope(
        model={"name": spec.name, "model_type": spec.model_type, "params": spec.params},
        workload=workload_dict(w, chosen.given),
        parallel={"strategy": p.strategy, "gpus": p.gpus, "shard_size": sim.shard_size},
        memory={
            "peak_allocated_bytes": sim.peak_allocated_bytes,
            "required_bytes": sim.peak_allocated_bytes + context + allocator,
            "peak_phase": sim.peak_phase,
            "breakdown": {**sim.breakdown, "overhead": context + allocator},
            "detail": sim.detail,
        },
        analytic=memory_dict(rank),
        error=(rank.peak_allocated_bytes - sim.peak_allocated_bytes) / sim.peak_allocated_bytes,
        attn_implementation=sim.attn_implementation,
        simulated_on=sim.versions,
        notes=[str(n) for n in sim.notes],  # said in the language in use
        seconds=round(sim.seconds, 2),
    )
    from gpuwise.render.measure_tables import probe_table

    return emit(args, doc, probe_table)
