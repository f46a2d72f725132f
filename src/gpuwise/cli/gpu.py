"""``gpuwise gpu NAME``: one card, every figure with its source."""

from __future__ import annotations

import argparse

from gpuwise.catalog import load_catalog
from gpuwise.cli.common import add_catalog, add_json, emit
from gpuwise.cli.lang import help_text
from gpuwise.render.card_json import card_doc

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any


def add_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "gpu",
        help=help_text("cli.command.gpu"),
        description=help_text("gpu.description"),
        epilog=help_text("gpu.epilog"),
    )
    p.add_argument("name", help=help_text("gpu.arg.name"))
    add_catalog(p)
    add_json(p)
    p.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    from gpuwise.render.card_tables import card_table

    return emit(args, document(args), card_table)


def document(args: argparse.Namespace) -> dict[str, Any]:
    """The card document ``args`` asks for (what ``--json`` prints; `gpuwise serve` too)."""
    catalog = load_catalog(args.catalog)
    return card_doc(catalog, catalog.find(args.name))
