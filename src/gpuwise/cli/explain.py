"""``gpuwise explain MODEL``: the numbers of a plan, walked through step by step with their
formulas (parameters, bytes per parameter, activations, the total against the card, FLOPs and
time, GB versus GiB); every figure is the plan's."""

from __future__ import annotations

import argparse

from gpuwise.catalog import load_catalog
from gpuwise.cli import workload_flags as flags
from gpuwise.cli.common import add_catalog, add_json, emit
from gpuwise.cli.lang import help_text
from gpuwise.cli.model_flags import add_model_source, model_source
from gpuwise.errors import GpuwiseError
from gpuwise.i18n import Message
from gpuwise.models import load_model
from gpuwise.plan.defaults import default_model
from gpuwise.workload import validate

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any


def add_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "explain",
        help=help_text("cli.command.explain"),
        description=help_text("explain.description"),
        epilog=help_text("explain.epilog"),
    )
    p.add_argument("model", nargs="?", help=help_text("explain.arg.model", default=default_model()))
    p.add_argument("--gpu", action="append", metavar="CARD", help=help_text("explain.opt.gpu"))
    p.add_argument("--tokens", type=flags.non_empty("2B"), help=help_text("explain.opt.tokens"))
    p.add_argument("--reserve", default="0", help=help_text("explain.opt.reserve"))
    p.add_argument(
        "--trust-remote-code",
        action="store_true",
        help=help_text("explain.opt.trust_remote_code"),
    )
    add_model_source(p)
    flags.add_workload(p)
    add_catalog(p)
    add_json(p)
    p.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    from gpuwise.render.explain_text import explain_text

    return emit(args, document(args), explain_text)


def document(args: argparse.Namespace) -> dict[str, Any]:
    """The explanation ``args`` asks for (what ``--json`` prints; `gpuwise serve` too)."""
    from gpuwise.explain.walk import explain
    from gpuwise.render.explain_json import explain_doc

    names = flags.card_names(args.gpu)
    if len(names) > 1:
        raise GpuwiseError(Message("explain.one_card", given=", ".join(names)))
    spec = load_model(
        args.model or default_model(),
        trust_remote_code=args.trust_remote_code,
        **model_source(args),
    )
    workload = validate(flags.workload_from(args, spec), spec)
    catalog = load_catalog(args.catalog)
    card = catalog.find(names[0]) if names else None
    tokens = flags.parse_amount(args.tokens, "--tokens") if args.tokens else None
    reserve = flags.parse_reserve(args.reserve)
    return explain_doc(explain(spec, workload, card, tokens, reserve), catalog.date)
