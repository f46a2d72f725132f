"""Flags and output helpers shared by commands."""

from __future__ import annotations

import argparse

from gpuwise.cli.lang import help_text
from gpuwise.render.document import dumps

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Callable, Sequence
    from typing import Any

    from rich.console import RenderableType

    #: A function of :mod:`gpuwise.render.tables`: a JSON document -> what to print for people.
    TablesFn = Callable[[dict[str, Any]], RenderableType | list[Any]]


def refuse_missing_values(
    parser: argparse.ArgumentParser, ns: argparse.Namespace, words: Sequence[str] | None
) -> None:
    """A flag of one value given none: argparse reads ``--batch=--`` (and ``--gpu=--``) as
    the end-of-options marker and stores an empty list, without calling the flag's type, and
    ``--grad-checkpointing=--`` (a value that may be left out) as the flag alone. Said as
    argparse says a missing value ("argument --batch: expected one argument"), one line."""
    for word in words or ():
        if word == "--":
            break
        name, eq, given = word.partition("=")
        flag = parser._option_string_actions.get(name) if eq and given == "--" else None
        if flag is not None and flag.nargs == argparse.OPTIONAL:
            _no_value(parser, flag)
    for action in parser._actions:
        if action.nargs is not None or not action.option_strings:
            continue  # a flag of several values, or a positional argument
        value = getattr(ns, action.dest, None)
        if not isinstance(value, list) or value is action.default:
            continue
        appended = isinstance(action, argparse._AppendAction)
        if not appended or any(isinstance(v, list) for v in value):
            _no_value(parser, action)


def _no_value(parser: argparse.ArgumentParser, action: argparse.Action) -> None:
    """argparse's own one line for a flag given no value (its words read from the catalogue
    only now: a command that parses cleanly loads none)."""
    problem = argparse._("expected one argument")  # type: ignore[attr-defined]
    parser.error(str(argparse.ArgumentError(action, problem)))


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
