"""``gpuwise doctor``: is this machine set up right for its cards, and exactly what to install."""

from __future__ import annotations

import argparse

from gpuwise.catalog import load_catalog
from gpuwise.cli.common import add_catalog, add_json, emit
from gpuwise.cli.lang import help_text

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any


def add_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "doctor",
        help=help_text("cli.command.doctor"),
        description=help_text("doctor.description"),
        epilog=help_text("doctor.epilog"),
    )
    p.add_argument("--card", action="append", metavar="NAME", help=help_text("doctor.opt.card"))
    p.add_argument("--driver", metavar="VERSION", help=help_text("doctor.opt.driver"))
    p.add_argument("--torch", metavar="VERSION", help=help_text("doctor.opt.torch"))
    p.add_argument("--tensorflow", metavar="VERSION", help=help_text("doctor.opt.tensorflow"))
    p.add_argument("--jax", metavar="VERSION", help=help_text("doctor.opt.jax"))
    p.add_argument("--python", metavar="X.Y", help=help_text("doctor.opt.python"))
    p.add_argument("--os", choices=("linux", "windows"), help=help_text("doctor.opt.os"))
    add_catalog(p)
    add_json(p)
    p.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    doc, has_errors = document(args)
    from gpuwise.render.doctor_tables import doctor_tables

    emit(args, doc, doctor_tables)
    return 1 if has_errors else 0


def document(args: argparse.Namespace) -> tuple[dict[str, Any], bool]:
    """The doctor document ``args`` asks for (what ``--json`` prints; `gpuwise serve` too) and
    whether it found an error."""
    from gpuwise.doctor import Described, build_report, describe, detect, load_knowledge, override
    from gpuwise.render.doctor_json import doctor_doc

    said = Described(args.driver, args.torch, args.os, args.tensorflow, args.jax, args.python)
    said.check()  # bad flags fail before anything is detected
    kb = load_knowledge()
    catalog = load_catalog(args.catalog)
    if args.card:
        machine = describe(catalog, args.card, args.driver, args.torch, args.os, said)
    else:
        machine = detect()
        override(machine, args.driver, args.torch, args.os, said)
    report = build_report(kb, catalog, machine)
    return doctor_doc(report, kb.date, catalog.date), report.has_errors
