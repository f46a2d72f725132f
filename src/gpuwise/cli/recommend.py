"""``gpuwise recommend MODEL``: which cards, how many and how, for a training job and a budget."""

from __future__ import annotations

import argparse
import re

from gpuwise.catalog import Card, of_series
from gpuwise.cli import workload_flags as flags
from gpuwise.cli.common import add_catalog, add_json, emit
from gpuwise.cli.emit_flags import add_emit_flags, emit_from
from gpuwise.cli.engine_flags import add_engine_flags, is_machine
from gpuwise.cli.framework_flags import add_framework_flag, framework_workload
from gpuwise.cli.lang import help_text
from gpuwise.cli.model_flags import add_model_source, model_source
from gpuwise.cli.recommend_cluster import add_cluster_recommend_flags, wants_clusters
from gpuwise.cli.vllm_flags import add_vllm_flags
from gpuwise.errors import GpuwiseError
from gpuwise.i18n import Message
from gpuwise.parallel import MAX_GPUS
from gpuwise.plan.defaults import default_host_ram_gib, default_model
from gpuwise.recommend import CURRENCIES, OBJECTIVES
from gpuwise.units import GIB

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

    from gpuwise.catalog import Catalog

_DURATION = re.compile(r"\s*(\d+(?:\.\d+)?)\s*(m|min|h|d|w)?\s*", re.IGNORECASE)  # fullmatch
_UNIT_S = {"m": 60, "min": 60, "h": 3600, "d": 86400, "w": 604800}


def add_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "recommend",
        help=help_text("cli.command.recommend"),
        description=help_text("recommend.description"),
        epilog=help_text("recommend.epilog"),
    )
    p.add_argument(
        "model", nargs="?", help=help_text("recommend.arg.model", default=default_model())
    )
    p.add_argument("--budget", type=float, help=help_text("recommend.opt.budget"))
    p.add_argument(
        "--currency", default="usd", choices=CURRENCIES, help=help_text("recommend.opt.currency")
    )
    p.add_argument("--prices", metavar="FILE", help=help_text("recommend.opt.prices"))
    p.add_argument(
        "--rate", type=float, metavar="CNY_PER_USD", help=help_text("recommend.opt.rate")
    )
    p.add_argument("--market", metavar="FILE", help=help_text("recommend.opt.market"))
    p.add_argument(
        "--objective",
        default=OBJECTIVES[0],
        choices=OBJECTIVES,
        help=help_text("recommend.opt.objective"),
    )
    p.add_argument("--tokens", type=flags.non_empty("1B"), help=help_text("recommend.opt.tokens"))
    p.add_argument(
        "--deadline", type=flags.non_empty("48h"), help=help_text("recommend.opt.deadline")
    )
    p.add_argument(
        "--max-gpus", type=int, default=MAX_GPUS, help=help_text("recommend.opt.max_gpus")
    )
    p.add_argument("--max-power", type=float, help=help_text("recommend.opt.max_power"))
    p.add_argument(
        "--host-ram",
        type=float,
        default=default_host_ram_gib(),
        help=help_text("recommend.opt.host_ram", default=default_host_ram_gib()),
    )
    p.add_argument("--no-offload", action="store_true", help=help_text("recommend.opt.no_offload"))
    p.add_argument("--series", action="append", help=help_text("recommend.opt.series"))
    p.add_argument("--gpu", action="append", metavar="CARD", help=help_text("recommend.opt.gpu"))
    p.add_argument(
        "--have",
        metavar="CARD",
        type=flags.non_empty("3060"),
        help=help_text("recommend.opt.have"),
    )
    p.add_argument("--reserve", default="0", help=help_text("recommend.opt.reserve"))
    p.add_argument("--grad-accum", type=int, default=1, help=help_text("recommend.opt.grad_accum"))
    p.add_argument("--top", type=int, default=20, help=help_text("recommend.opt.top"))
    p.add_argument(
        "--trust-remote-code", action="store_true", help=help_text("recommend.opt.trust")
    )
    add_model_source(p)
    flags.add_workload(p)
    add_framework_flag(p)  # the ranking with a framework's defaults (after the workload flags)
    add_engine_flags(p)  # --task infer with llama.cpp / Ollama (gpuwise.cli.recommend_infer)
    add_vllm_flags(p)  # and with vLLM
    add_emit_flags(p)
    add_cluster_recommend_flags(p)  # clusters of nodes (gpuwise.cli.recommend_cluster)
    add_catalog(p)
    add_json(p)
    p.set_defaults(run=run)


def parse_duration(text: str) -> float:
    """``48h``, ``3d``, ``90m``, ``2w`` (a bare number is hours) -> seconds."""
    shown = text if len(text) <= 60 else f"{text[:60]}... ({len(text)} characters)"
    m = _DURATION.fullmatch(text)
    if not m:
        raise GpuwiseError(Message("recommend.deadline_not_duration", value=repr(shown)))
    value = float(m.group(1)) * _UNIT_S[(m.group(2) or "h").lower()]
    if not 60 <= value <= 10 * 365 * 86400:  # also an overflow to infinity
        raise GpuwiseError(Message("recommend.deadline_range", value=repr(shown)))
    return value


def _cards(args: argparse.Namespace, catalog: Catalog) -> tuple[list[Card], list[Any]]:
    names = flags.card_names(args.gpu)
    for name in names:  # a machine (4090+3090) is llama.cpp's layer split
        if is_machine(name):
            raise GpuwiseError(Message("infer.machine_needs_llama", name=name))
    cards = [catalog.find(n) for n in names] if names else list(catalog)
    if args.series:
        cards = of_series(cards, args.series)
    return cards, []


def _number(value: float | None, flag: str, low: float, high: float) -> None:
    """``value`` from ``low`` to ``high`` (not NaN, not infinite); where 0 is allowed, a
    non-zero value too small to mean anything (a subnormal) is refused."""
    if value is None:
        return
    tiny = value != 0 and abs(value) < 0.001
    if not low <= value <= high or tiny:
        allowed = (
            Message("recommend.range_or_zero", high=f"{high:g}")
            if low == 0
            else Message("recommend.range", low=f"{low:g}", high=f"{high:g}")
        )
        raise GpuwiseError(
            Message("recommend.out_of_range", flag=flag, value=f"{value:g}", allowed=allowed)
        )


def run(args: argparse.Namespace) -> int:
    from gpuwise.render.recommend_tables import recommend_tables

    doc = document(args)
    if doc.get("kind") == "cluster_recommend":
        from gpuwise.render.cluster_recommend_tables import cluster_recommend_tables

        return emit(args, doc, cluster_recommend_tables)
    if "engine" in doc:  # llama.cpp / Ollama: its own tables
        from gpuwise.render.recommend_infer_tables import recommend_infer_tables

        return emit(args, doc, recommend_infer_tables)
    return emit(args, doc, recommend_tables)


def document(args: argparse.Namespace) -> dict[str, Any]:
    """The recommend document ``args`` asks for (what ``--json`` prints; `gpuwise serve` too),
    writing the launch files ``--emit`` asks for."""
    from gpuwise.catalog import load_catalog
    from gpuwise.cli.recommend_infer import llama_cards, llama_engine
    from gpuwise.models import load_model
    from gpuwise.models.resolve import launch_model_ref
    from gpuwise.recommend.market import load_market
    from gpuwise.recommend.options import Constraints, recommend
    from gpuwise.recommend.prices import load_prices
    from gpuwise.render.plan_json import recommend_doc
    from gpuwise.workload import validate

    _number(args.budget, "--budget", 1, 1e9)
    _number(args.max_power, "--max-power", 1, 1e6)
    _number(args.host_ram, "--host-ram", 0, 1 << 20)
    _number(args.max_gpus, "--max-gpus", 1, MAX_GPUS)
    _number(args.grad_accum, "--grad-accum", 1, 1 << 16)
    _number(args.top, "--top", 0, 1e6)
    model_ref = args.model or default_model()
    spec = load_model(model_ref, trust_remote_code=args.trust_remote_code, **model_source(args))
    engine = llama_engine(args, spec)  # llama.cpp / Ollama / vLLM; None: transformers
    workload, framework = framework_workload(args, spec)  # --framework's defaults
    workload = validate(workload, spec)
    catalog = load_catalog(args.catalog)
    cards, machines = (
        _cards(args, catalog) if engine is None else llama_cards(args, catalog, engine)
    )
    market = load_market(args.market, catalog, args.rate)
    book = load_prices(args.prices, args.currency, catalog, market)
    tokens = flags.parse_amount(args.tokens, "--tokens") if args.tokens else None
    constraints = Constraints(
        budget=args.budget,
        currency=args.currency,
        max_gpus=args.max_gpus,
        max_power_w=args.max_power,
        deadline_s=parse_duration(args.deadline) if args.deadline else None,
        reserve_bytes=flags.parse_reserve(args.reserve),
        offload=not args.no_offload,
        host_ram_bytes=round(args.host_ram * GIB),
    )
    have = catalog.find(args.have) if args.have else None
    if wants_clusters(args):
        from gpuwise.cli.recommend_cluster import cluster_document

        return cluster_document(
            args, spec, workload, catalog, cards, book, tokens, constraints.deadline_s
        )
    if engine is not None:
        return _llama_doc(
            args,
            catalog.date,
            spec,
            workload,
            engine,
            cards,
            machines,
            constraints,
            book,
            tokens,
            have,
        )
    rec = recommend(
        spec, workload, cards, constraints, book, args.objective, tokens, args.grad_accum, have
    )
    doc = recommend_doc(rec, catalog.date, int(args.top))
    if framework is not None:  # --framework other than transformers: what it changed
        from gpuwise.frameworks.defaults import applied_dict, framework_notes

        doc["framework"] = {**applied_dict(framework), "notes": framework_notes(framework)}
    doc["emitted"] = []
    if args.emit:
        best = rec.best_to_launch()
        written = emit_from(
            args, spec, best.workload, best.parallel, launch_model_ref(model_ref), best.host_bytes
        )
        doc["emitted"] = [str(path) for path in written]
    return doc


def _llama_doc(
    args: argparse.Namespace,
    catalog_date: str,
    spec: Any,
    workload: Any,
    engine: Any,
    cards: list[Card],
    machines: list[list[Card]],
    constraints: Any,
    book: Any,
    tokens: int | None,
    have: Card | None,
) -> dict[str, Any]:
    """recommend's document for llama.cpp / Ollama (gpuwise.recommend.llama) or vLLM."""
    from gpuwise.cli.recommend_infer import add_llama_keys, vllm_doc
    from gpuwise.recommend.llama import llama_recommend
    from gpuwise.render.plan_json import recommend_doc

    if engine.engine == "vllm":
        return vllm_doc(
            args, catalog_date, spec, workload, engine, cards, machines, constraints, book,
            tokens, have,
        )  # fmt: skip
    if constraints.deadline_s is not None and tokens is None:
        raise GpuwiseError(Message("recommend.deadline_needs_tokens"))
    rec = llama_recommend(
        spec, workload, engine, cards, machines, constraints, book, args.objective, tokens, have
    )
    doc = recommend_doc(rec, catalog_date, int(args.top))
    add_llama_keys(doc, rec, engine, int(args.top))
    doc["emitted"] = []
    return doc
