"""Flags and output helpers shared by commands."""

from __future__ import annotations

import argparse

from gpuwise.cli.lang import help_text
from gpuwise.render.document import dumps

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Callable
    from typing import Any

    from rich.console import RenderableType

    #: A function of :mod:`gpuwise.render.tables`: a JSON document -> what to print for people.
    TablesFn = Callable[[dict[str, Any]], RenderableType | list[Any]]


def add_json(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--json", action="store_true", help=help_text("cli.opt.json"))


def add_catalog(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--catalog", metavar="FILE", help=help_text("cli.opt.catalog"))


def emit(args: argparse.Namespace, doc: dict[str, Any], tables: TablesFn) -> int:
    """Print ``doc`` as JSON with --json, else what ``tables`` (a function of
    :mod:`gpuwise.render.tables`, which imports rich only when it makes a table) makes of it,
    through the console that shows every string as text."""
    if args.json:
        print(dumps(doc))
        return 0
    from gpuwise.render.console import console

    out = console()
    result = tables(doc)
    for table in result if isinstance(result, list) else [result]:
        out.print(table)
    return 0
