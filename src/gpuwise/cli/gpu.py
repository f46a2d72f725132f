"""``gpuwise gpu NAME``: one card, every figure with its source."""

from __future__ import annotations

import argparse

from gpuwise.catalog import load_catalog
from gpuwise.cli.common import add_catalog, add_json, emit
from gpuwise.render.card_json import card_doc


def add_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "gpu",
        help="one card in detail, with sources",
        description="Show one card: every figure with its source, its features, and the memory "
        "PyTorch can use on it.",
        epilog="Names are forgiving: gpuwise gpu 3090 | gpuwise gpu 'rtx 4060 ti 16gb' | "
        "gpuwise gpu 4090d",
    )
    p.add_argument("name", help="card name: '3090', 'RTX 4060 Ti 16GB', 'h100', ...")
    add_catalog(p)
    add_json(p)
    p.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    catalog = load_catalog(args.catalog)
    card = catalog.find(args.name)
    from gpuwise.render.tables import card_table

    return emit(args, card_doc(catalog, card), card_table)
