"""``gpuwise gpus``: the catalogue, filtered and sorted."""

from __future__ import annotations

import argparse

from gpuwise.catalog import Card, load_catalog, of_series
from gpuwise.catalog.features import feature_ids
from gpuwise.cli.common import add_catalog, add_json, emit
from gpuwise.cli.lang import help_text
from gpuwise.errors import GpuwiseError
from gpuwise.i18n import Message
from gpuwise.render.card_json import CARD_KEYS, cards_doc

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

SORT_KEYS = tuple(k for k in CARD_KEYS if k not in ("features",))


def add_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "gpus",
        help=help_text("cli.command.gpus"),
        description=help_text("gpus.description"),
        epilog=help_text("gpus.epilog"),
    )
    p.add_argument("--series", action="append", metavar="TEXT", help=help_text("gpus.opt.series"))
    p.add_argument("--min-memory", type=float, metavar="GB", help=help_text("gpus.opt.min_memory"))
    p.add_argument(
        "--feature",
        action="append",
        metavar="ID",
        help=help_text("gpus.opt.feature", features=", ".join(feature_ids())),
    )
    p.add_argument("--sort", default=None, metavar="FIELD", help=help_text("gpus.opt.sort"))
    p.add_argument("--desc", action="store_true", help=help_text("gpus.opt.desc"))
    add_catalog(p)
    add_json(p)
    p.set_defaults(run=run)


def select(cards: list[Card], args: argparse.Namespace) -> list[Card]:
    """The cards ``args`` asks for, in the order it asks for."""
    out = list(cards)
    if args.series:
        out = of_series(out, args.series)
    if args.min_memory is not None:
        if not args.min_memory >= 0:
            raise GpuwiseError(Message("gpus.bad_min_memory", got=args.min_memory))
        out = [c for c in out if c.memory_gb >= args.min_memory]
    for feature in args.feature or ():
        if feature not in feature_ids():
            raise GpuwiseError(
                Message("gpus.unknown_feature", feature=feature, features=", ".join(feature_ids()))
            )
        out = [c for c in out if c.has(feature)]
    if args.sort is not None:
        if args.sort not in SORT_KEYS:
            raise GpuwiseError(
                Message("gpus.bad_sort", field=args.sort, fields=", ".join(SORT_KEYS))
            )
        present = [c for c in out if getattr(c, args.sort) is not None]
        missing = [c for c in out if getattr(c, args.sort) is None]
        present.sort(key=lambda c: getattr(c, args.sort), reverse=args.desc)
        out = present + missing
    return out


def run(args: argparse.Namespace) -> int:
    from gpuwise.render.card_tables import gpus_table

    return emit(args, document(args), gpus_table)


def document(args: argparse.Namespace) -> dict[str, Any]:
    """The catalogue document ``args`` asks for (what ``--json`` prints; `gpuwise serve` too)."""
    catalog = load_catalog(args.catalog)
    return cards_doc(catalog, select(catalog.cards, args))
