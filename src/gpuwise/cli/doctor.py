"""``gpuwise doctor``: is this machine set up right for its cards, and exactly what to install."""

from __future__ import annotations

import argparse

from gpuwise.catalog import load_catalog
from gpuwise.cli.common import add_catalog, add_json, emit

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any


def add_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "doctor",
        help="check driver, CUDA and PyTorch build against your cards; print the pip command",
        description="Detect the GPUs, driver, PyTorch build and GPU libraries of this machine "
        "(or take a machine you describe with --card/--driver/--torch) and say, card by card, "
        "what will fail and why, what to use or avoid, and the pip command that works for "
        "PyTorch, TensorFlow and JAX. Exit code 1 when it finds an error, 0 with warnings or "
        "nothing; 2 for bad flags.",
        epilog="Examples: gpuwise doctor | gpuwise doctor --json | "
        "gpuwise doctor --card 'GTX 1080 Ti' --driver 535.104 --torch 2.8.0+cu128 | "
        "gpuwise doctor --card 5090 --card 3090 --driver 572.16 --os windows | "
        "gpuwise doctor --card 3060 --tensorflow 2.21.0 --python 3.12 --os windows",
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
        "--tensorflow",
        metavar="VERSION",
        help="TensorFlow as tf.__version__ prints it, e.g. 2.21.0 (default: the installed one)",
    )
    p.add_argument(
        "--jax",
        metavar="VERSION",
        help="JAX as jax.__version__ prints it, e.g. 0.10.2 (default: the installed one)",
    )
    p.add_argument(
        "--python",
        metavar="X.Y",
        help="Python of the machine, e.g. 3.12: which TensorFlow / JAX wheels exist for it "
        "(default: this one's)",
    )
    p.add_argument(
        "--os", choices=("linux", "windows"), help="operating system (default: this one's)"
    )
    add_catalog(p)
    add_json(p)
    p.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    doc, has_errors = document(args)
    from gpuwise.render.tables import doctor_tables

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
