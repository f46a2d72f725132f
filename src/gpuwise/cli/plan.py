"""``gpuwise plan MODEL``: memory and time of the reference step, and a verdict per card."""

from __future__ import annotations

import argparse

from gpuwise.catalog import load_catalog
from gpuwise.cli import workload_flags as flags
from gpuwise.cli.cluster_flags import add_cluster_flags, wants_cluster
from gpuwise.cli.common import add_catalog, add_json, emit
from gpuwise.cli.emit_flags import add_emit_flags, emit_from
from gpuwise.cli.engine_flags import add_engine_flags, engine_from, machines_from
from gpuwise.cli.framework_flags import add_framework_flag, framework_workload
from gpuwise.cli.lang import help_text
from gpuwise.cli.model_flags import add_model_source, model_source
from gpuwise.cli.parallel_flags import add_parallel, parallel_from
from gpuwise.cli.vllm_flags import add_vllm_flags
from gpuwise.models import load_model
from gpuwise.models.resolve import launch_model_ref
from gpuwise.plan.defaults import default_model
from gpuwise.workload import validate

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any


def add_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "plan",
        help=help_text("cli.command.plan"),
        description=help_text("plan.description"),
        epilog=help_text("plan.epilog"),
    )
    p.add_argument(
        "model",
        nargs="?",
        help=help_text("plan.opt.model", default=default_model()),
    )
    p.add_argument(
        "--gpu",
        action="append",
        metavar="CARD",
        help=help_text("plan.opt.gpu"),
    )
    p.add_argument(
        "--tokens",
        type=flags.non_empty("2B"),
        help=help_text("plan.opt.tokens"),
    )
    p.add_argument("--reserve", default="0", help=help_text("plan.opt.reserve"))
    p.add_argument("--no-search", action="store_true", help=help_text("plan.opt.no_search"))
    p.add_argument(
        "--trust-remote-code", action="store_true", help=help_text("plan.opt.trust_remote_code")
    )
    add_model_source(p)
    flags.add_workload(p)
    add_framework_flag(p)
    add_engine_flags(p)
    add_vllm_flags(p)
    add_parallel(p)
    add_cluster_flags(p)
    add_emit_flags(p)
    add_catalog(p)
    add_json(p)
    p.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    doc = document(args)
    if wants_cluster(args):
        from gpuwise.render.cluster_tables import cluster_tables

        return emit(args, doc, cluster_tables)
    if doc.get("engine", {}).get("name") == "vllm":
        from gpuwise.render.vllm_tables import vllm_tables

        return emit(args, doc, vllm_tables)
    if "engine" in doc:  # llama.cpp / Ollama: its own tables
        from gpuwise.render.infer_tables import llama_tables

        return emit(args, doc, llama_tables)
    from gpuwise.render.plan_tables import plan_tables

    return emit(args, doc, plan_tables)


def document(args: argparse.Namespace) -> dict[str, Any]:
    """The plan document ``args`` asks for (what ``--json`` prints; `gpuwise serve` too),
    writing the launch files ``--emit`` asks for."""
    from gpuwise.plan import make_plan, plan_cards
    from gpuwise.render.plan_json import plan_doc

    model_ref = args.model or default_model()
    spec = load_model(model_ref, trust_remote_code=args.trust_remote_code, **model_source(args))
    engine = engine_from(args, spec)  # llama.cpp / Ollama; None: transformers
    workload, framework = framework_workload(args, spec)  # --framework's defaults
    workload = validate(workload, spec)
    catalog = load_catalog(args.catalog)
    names = flags.card_names(args.gpu)
    llama = None if engine is None or engine.engine == "vllm" else engine
    vllm = engine is not None and engine.engine == "vllm"
    machines = machines_from(names, catalog, llama, vllm)  # type: ignore[arg-type]  # llama.cpp
    tokens = flags.parse_amount(args.tokens, "--tokens") if args.tokens else None
    if wants_cluster(args):  # cards[] as one node of the cluster, cards[].cluster the cluster
        from gpuwise.cli.cluster_flags import node_parallel

        if framework is not None:
            from gpuwise.errors import GpuwiseError
            from gpuwise.i18n import Message

            raise GpuwiseError(Message("cluster.no_framework", framework=framework.framework))

        parallel = node_parallel(args)
    else:
        parallel = parallel_from(args)
    plan = make_plan(
        spec,
        workload,
        plan_cards(catalog, names) if machines is None else [m[0] for m in machines],
        tokens,
        flags.parse_reserve(args.reserve),
        search=not args.no_search,
        parallel=parallel,
        engine=engine,
        machines=machines,
    )
    doc = plan_doc(plan, catalog.date)
    if wants_cluster(args):  # --nodes M / --layout: each card's cluster plan
        from gpuwise.cli.cluster_flags import add_cluster_docs

        add_cluster_docs(args, doc, plan, tokens)
    if framework is not None:  # --framework other than transformers
        from gpuwise.frameworks.defaults import applied_dict, framework_notes

        doc["framework"] = applied_dict(framework)
        doc["memory"]["notes"] = [*framework_notes(framework), *doc["memory"]["notes"]]
    if args.emit:
        model_ref = launch_model_ref(model_ref)
        workload = plan.launch_workload()  # in the cards' precision
    if wants_cluster(args):
        from gpuwise.cli.emit_flags import emit_cluster_from

        written = emit_cluster_from(args, spec, plan, model_ref, tokens)
    else:
        written = emit_from(args, spec, workload, parallel, model_ref, plan.host_bytes or None)
    doc["emitted"] = [str(path) for path in written]
    return doc
