"""``gpuwise recommend MODEL``: which cards, how many and how, for a training job and a budget."""

from __future__ import annotations

import argparse
import re

from gpuwise.catalog import Card, of_series
from gpuwise.cli import workload_flags as flags
from gpuwise.cli.common import add_catalog, add_json, emit
from gpuwise.cli.emit_flags import add_emit_flags, emit_from
from gpuwise.cli.model_flags import add_model_source, model_source
from gpuwise.errors import GpuwiseError
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
        help="which card(s) to buy or rent for a training job and a budget, ranked",
        description="Try every card of the catalogue (after your filters), one to --max-gpus of "
        "it, with every strategy that can run the job (one card, DDP, FSDP2, ZeRO 1-3, "
        "offload); rank what fits by --objective and say why each other option does not.",
        epilog="Examples: gpuwise recommend llama-3.1-8b --method qlora --budget 800 | "
        "gpuwise recommend llama-3.1-70b --grad-checkpointing --tokens 1B --objective fastest "
        "--prices my-prices.json | gpuwise recommend qwen2.5-7b --method lora --have 3060",
    )
    p.add_argument("model", nargs="?", help=f"as for plan (default: {default_model()})")
    p.add_argument("--budget", type=float, help="most you will spend (in --currency)")
    p.add_argument("--currency", default="usd", choices=CURRENCIES, help="usd (default) or cny")
    p.add_argument(
        "--prices",
        metavar="FILE",
        help='your prices, over every other (JSON: {"currency": "usd", "cards": {"3090": '
        '{"buy": 750}, "h100-sxm-80gb": {"hourly": 2.5}}}); default: the market prices shipped '
        "with gpuwise (street, used, rental), else launch prices",
    )
    p.add_argument(
        "--rate",
        type=float,
        metavar="CNY_PER_USD",
        help="yuan per US dollar, for prices in the other currency than --currency (default: "
        "the dated rate shipped with the market prices, shown in the output)",
    )
    p.add_argument(
        "--market",
        metavar="FILE",
        help="a market-price file to use instead of the one shipped (layout: docs/catalog.md)",
    )
    p.add_argument(
        "--objective", default="cheapest", choices=OBJECTIVES, help="how to rank (cheapest)"
    )
    p.add_argument(
        "--tokens",
        type=flags.non_empty("1B"),
        help="tokens to train: time, energy, rental cost (e.g. 1B)",
    )
    p.add_argument(
        "--deadline",
        type=flags.non_empty("48h"),
        help="longest the run may take, e.g. 48h or 3d (needs --tokens)",
    )
    p.add_argument("--max-gpus", type=int, default=MAX_GPUS, help="most cards in the machine (8)")
    p.add_argument("--max-power", type=float, help="most board power of all cards, in W")
    p.add_argument(
        "--host-ram",
        type=float,
        default=default_host_ram_gib(),
        help=f"GiB of host RAM offload may use (default {default_host_ram_gib()})",
    )
    p.add_argument("--no-offload", action="store_true", help="do not consider offload strategies")
    p.add_argument(
        "--series", action="append", help="only cards whose series contains TEXT (repeat)"
    )
    p.add_argument("--gpu", action="append", metavar="CARD", help="only these cards (repeat)")
    p.add_argument(
        "--have",
        metavar="CARD",
        type=flags.non_empty("3060"),
        help="your card: what to change so the job fits it",
    )
    p.add_argument("--reserve", default="0", help="GiB of each card kept for other uses")
    p.add_argument("--grad-accum", type=int, default=1, help="micro-batches per optimizer step")
    p.add_argument("--top", type=int, default=20, help="options to list (0: all; default 20)")
    p.add_argument("--trust-remote-code", action="store_true", help="see `gpuwise model`")
    add_model_source(p)
    flags.add_workload(p)
    add_emit_flags(p)
    add_catalog(p)
    add_json(p)
    p.set_defaults(run=run)


def parse_duration(text: str) -> float:
    """``48h``, ``3d``, ``90m``, ``2w`` (a bare number is hours) -> seconds."""
    shown = text if len(text) <= 60 else f"{text[:60]}... ({len(text)} characters)"
    m = _DURATION.fullmatch(text)
    if not m:
        raise GpuwiseError(f"--deadline {shown!r} is not a duration; use e.g. 90m, 48h, 3d or 2w")
    value = float(m.group(1)) * _UNIT_S[(m.group(2) or "h").lower()]
    if not 60 <= value <= 10 * 365 * 86400:  # also an overflow to infinity
        raise GpuwiseError(f"--deadline {shown!r} is out of range; use 1m to 10 years")
    return value


def _cards(args: argparse.Namespace, catalog: Catalog) -> list[Card]:
    names = flags.card_names(args.gpu)
    cards = [catalog.find(n) for n in names] if names else list(catalog)
    if args.series:
        cards = of_series(cards, args.series)
    return cards


def _number(value: float | None, flag: str, low: float, high: float) -> None:
    """``value`` from ``low`` to ``high`` (not NaN, not infinite); where 0 is allowed, a
    non-zero value too small to mean anything (a subnormal) is refused."""
    if value is None:
        return
    tiny = value != 0 and abs(value) < 0.001
    if not low <= value <= high or tiny:
        allowed = f"0, or 0.001 to {high:g}" if low == 0 else f"{low:g} to {high:g}"
        raise GpuwiseError(f"{flag} {value:g} is out of range; use {allowed}")


def run(args: argparse.Namespace) -> int:
    from gpuwise.render.tables import recommend_tables

    return emit(args, document(args), recommend_tables)


def document(args: argparse.Namespace) -> dict[str, Any]:
    """The recommend document ``args`` asks for (what ``--json`` prints; `gpuwise serve` too),
    writing the launch files ``--emit`` asks for."""
    from gpuwise.catalog import load_catalog
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
    workload = validate(flags.workload_from(args, spec), spec)
    catalog = load_catalog(args.catalog)
    cards = _cards(args, catalog)
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
    rec = recommend(
        spec, workload, cards, constraints, book, args.objective, tokens, args.grad_accum, have
    )
    doc = recommend_doc(rec, catalog.date, int(args.top))
    doc["emitted"] = []
    if args.emit:
        best = rec.best_to_launch()
        written = emit_from(
            args, spec, best.workload, best.parallel, launch_model_ref(model_ref), best.host_bytes
        )
        doc["emitted"] = [str(path) for path in written]
    return doc
