"""Flags and output helpers shared by commands."""

from __future__ import annotations

import argparse
from typing import Any

from gpuwise.render.json_doc import dumps


def add_json(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--json", action="store_true", help="print one JSON document on stdout (keys in the README)"
    )


def add_catalog(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--catalog",
        metavar="FILE",
        help="your own card file: adds or overrides cards "
        "(default ~/.config/gpuwise/cards.json or $GPUWISE_CATALOG)",
    )


def emit(args: argparse.Namespace, doc: dict[str, Any], tables: str) -> int:
    """Print ``doc`` as JSON with --json, else the rich tables that the function named
    ``tables`` in :mod:`gpuwise.render.tables` makes of it (rich is imported only then)."""
    if args.json:
        print(dumps(doc))
        return 0
    from gpuwise.render import tables as render

    out = render.console()
    result = getattr(render, tables)(doc)
    for table in result if isinstance(result, list) else [result]:
        out.print(table)
    return 0
