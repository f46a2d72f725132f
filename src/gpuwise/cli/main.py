"""``gpuwise`` dispatcher: parse, run the command, turn user errors into one line and exit 2."""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Sequence
from typing import NoReturn

from gpuwise._version import __version__
from gpuwise.cli import bench, doctor, gpu, gpus, mnist, model, plan, probe, recommend
from gpuwise.errors import GpuwiseError

COMMANDS = (gpus, gpu, model, plan, recommend, probe, bench, mnist, doctor)


class Parser(argparse.ArgumentParser):
    """argparse with one-line errors: the problem, then where to look."""

    def error(self, message: str) -> NoReturn:
        self.exit(2, f"{self.prog}: error: {message} (see `{self.prog} --help`)\n")


def build_parser() -> argparse.ArgumentParser:
    parser = Parser(
        prog="gpuwise",
        description="Which NVIDIA card for which model: catalogue, exact model shapes, plans.",
        epilog="Examples: gpuwise gpus --series 'RTX 40' | gpuwise gpu 3090 | "
        "gpuwise model llama-3.1-8b --json | gpuwise plan llama-3.1-8b --method qlora --gpu 3090",
    )
    parser.add_argument("--version", action="version", version=f"gpuwise {__version__}")
    parser.add_argument(
        "--debug", action="store_true", help="show a traceback on errors (for bug reports)"
    )
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=Parser)
    for command in COMMANDS:
        command.add_parser(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if args.command is None:
        parser.print_help()
        return 0
    try:
        code: int = args.run(args)
        sys.stdout.flush()
        return code
    except GpuwiseError as e:
        if args.debug:
            raise
        # one line, whatever the user's input held (a name with a newline in it)
        message = "".join(c if c.isprintable() else repr(c)[1:-1] for c in str(e))
        print(f"gpuwise {args.command}: error: {message}", file=sys.stderr)
        return e.exit_code
    except BrokenPipeError:
        # `gpuwise gpus | head`: the reader left; say nothing and exit quietly.
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        return 0


def entry() -> None:
    sys.exit(main())
