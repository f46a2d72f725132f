"""``gpuwise doctor``: is this machine set up right for its cards, and exactly what to install."""

from __future__ import annotations

import argparse

from gpuwise.catalog import load_catalog
from gpuwise.cli.common import add_catalog, add_json, emit


def add_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "doctor",
        help="check driver, CUDA and PyTorch build against your cards; print the pip command",
        description="Detect the GPUs, driver, PyTorch build and GPU libraries of this machine "
        "(or take a machine you describe with --card/--driver/--torch) and say, card by card, "
        "what will fail and why, what to use or avoid, and the pip command that works.",
        epilog="Examples: gpuwise doctor | gpuwise doctor --json | "
        "gpuwise doctor --card 'GTX 1080 Ti' --driver 535.104 --torch 2.8.0+cu128 | "
        "gpuwise doctor --card 5090 --card 3090 --driver 572.16 --os windows",
    )
    p.add_argument(
        "--card",
        action="append",
        metavar="NAME",
        help="describe a machine instead of detecting this one: a card in it (repeat for "
        "several); nothing is imported or run",
    )
    p.add_argument("--driver", metavar="VERSION", help="NVIDIA driver version, e.g. 535.104.05")
    p.add_argument(
        "--torch",
        metavar="VERSION",
        help="PyTorch build as torch.__version__ prints it, e.g. 2.8.0+cu128",
    )
    p.add_argument(
        "--os", choices=("linux", "windows"), help="operating system (default: this one's)"
    )
    add_catalog(p)
    add_json(p)
    p.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    from gpuwise.doctor import build_report, describe, detect, load_knowledge, override
    from gpuwise.doctor.builds import parse_torch
    from gpuwise.doctor.knowledge import parse_driver
    from gpuwise.render.doctor_json import doctor_doc

    # Bad flags fail before anything is detected.
    kb = load_knowledge()
    if args.driver is not None:
        parse_driver(args.driver)
    if args.torch is not None:
        parse_torch(args.torch, kb.known_variants())
    catalog = load_catalog(args.catalog)
    if args.card:
        machine = describe(catalog, args.card, args.driver, args.torch, args.os)
    else:
        machine = detect()
        override(machine, args.driver, args.torch, args.os)
    doc = doctor_doc(build_report(kb, catalog, machine), kb.date, catalog.date)
    from gpuwise.render.tables import doctor_tables

    return emit(args, doc, doctor_tables)
