"""``gpuwise probe MODEL --simulate``: the exact step on fake tensors, beside the plan."""

from __future__ import annotations

import argparse

from gpuwise.cli.cluster_flags import add_cluster_flags, wants_cluster
from gpuwise.cli.common import add_json, emit
from gpuwise.cli.lang import help_text
from gpuwise.cli.model_flags import add_model_source, model_source
from gpuwise.cli.parallel_flags import add_parallel, parallel_from
from gpuwise.cli.probe_measure import add_measure_flags, run_measure
from gpuwise.cli.workload_flags import add_workload, workload_from
from gpuwise.errors import GpuwiseError
from gpuwise.i18n import Message
from gpuwise.memory.estimate import overheads
from gpuwise.models.build import spec_from_config
from gpuwise.models.resolve import resolve
from gpuwise.plan import defaults, estimate_memory
from gpuwise.plan.precision import for_card
from gpuwise.render.document import envelope
from gpuwise.render.plan_json import memory_dict, workload_dict
from gpuwise.workload import validate


def add_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "probe",
        help=help_text("cli.command.probe"),
        description=help_text("probe.description"),
        epilog=help_text("probe.epilog"),
    )
    p.add_argument("model", nargs="?", help=help_text("probe.arg.model"))
    mode = p.add_mutually_exclusive_group()
    mode.add_argument("--simulate", action="store_true", help=help_text("probe.opt.simulate"))
    mode.add_argument("--measure", action="store_true", help=help_text("probe.opt.measure"))
    add_measure_flags(p)
    p.add_argument(
        "--trust-remote-code", action="store_true", help=help_text("probe.opt.trust_remote_code")
    )
    add_model_source(p)
    add_workload(p)
    add_parallel(p)
    add_cluster_flags(p)
    add_json(p)
    p.set_defaults(run=run, catalog=None)


def run(args: argparse.Namespace) -> int:
    if not args.simulate and not args.measure:
        raise GpuwiseError(Message("probe.error.mode"))
    found = resolve(args.model or defaults()["model"], **model_source(args))
    spec = spec_from_config(
        found.config,
        name=found.name,
        source=found.source,
        where=found.where,
        trust_remote_code=args.trust_remote_code,
        assumptions=found.assumptions,
    )
    workload = validate(workload_from(args, spec), spec)
    if wants_cluster(args):  # one rank of a tensor / pipeline parallel layout
        if args.measure:
            raise GpuwiseError(Message("probe.error.measure_one_card"))
        from gpuwise.cli.probe_cluster import run_cluster_simulation

        return run_cluster_simulation(args, found.config, spec, *for_card(workload, None))
    parallel = parallel_from(args)
    if parallel.strategy != "single":
        if args.measure:
            raise GpuwiseError(Message("probe.error.measure_one_card"))
        from gpuwise.cli.probe_parallel import run_parallel_simulation

        return run_parallel_simulation(
            args, found.config, spec, *for_card(workload, None), parallel
        )
    if args.measure:  # in the precision of the card it runs on
        return run_measure(args, found.config, spec, workload)
    from gpuwise.probe.simulate import simulate

    # no card to choose a precision for: the default of cards with native bf16
    workload, chosen = for_card(workload, None)
    sim = simulate(found.config, spec, workload)
    plan = estimate_memory(spec, workload)
    context, allocator = overheads(sim.peak_allocated_bytes)
    doc = envelope(
        model={"name": spec.name, "model_type": spec.model_type, "params": spec.params},
        workload=workload_dict(workload, chosen.given),
        memory={
            "peak_allocated_bytes": sim.peak_allocated_bytes,
            "required_bytes": sim.peak_allocated_bytes + context + allocator,
            "peak_phase": sim.peak_phase,
            "breakdown": {**sim.breakdown, "overhead": context + allocator},
        },
        analytic=memory_dict(plan),
        error=(plan.peak_allocated_bytes - sim.peak_allocated_bytes) / sim.peak_allocated_bytes,
        attn_implementation=sim.attn_implementation,
        simulated_on=sim.versions,
        seconds=round(sim.seconds, 2),
    )
    from gpuwise.render.measure_tables import probe_table

    return emit(args, doc, probe_table)
