"""``gpuwise model MODEL``: exact shapes, parameter counts by part, weight memory per dtype."""

from __future__ import annotations

import argparse

from gpuwise.cli.common import add_json, emit
from gpuwise.cli.lang import help_text
from gpuwise.cli.model_flags import add_model_source, model_source
from gpuwise.models import load_model, preset_names
from gpuwise.render.document import dumps, envelope
from gpuwise.render.model_json import model_doc

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any


def add_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "model",
        help=help_text("cli.command.model"),
        description=help_text("model.description"),
        epilog=help_text("model.epilog"),
    )
    p.add_argument("model", nargs="?", help=help_text("model.arg.model"))
    p.add_argument("--list", action="store_true", help=help_text("model.opt.list"))
    p.add_argument(
        "--trust-remote-code", action="store_true", help=help_text("model.opt.trust_remote_code")
    )
    add_model_source(p)
    add_json(p)
    p.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    doc = document(args)
    if "presets" in doc:
        print(dumps(doc) if args.json else "\n".join(doc["presets"]))
        return 0
    if args.json:  # the tables' module is imported only to draw them
        print(dumps(doc))
        return 0
    from gpuwise.render.model_tables import model_tables

    return emit(args, doc, model_tables)


def document(args: argparse.Namespace) -> dict[str, Any]:
    """The model document ``args`` asks for, or with ``--list`` the presets (what ``--json``
    prints; `gpuwise serve` too)."""
    if args.list or args.model is None:
        if not args.list:
            from gpuwise.errors import GpuwiseError
            from gpuwise.i18n import Message

            raise GpuwiseError(Message("model.no_model"))
        return envelope(presets=preset_names())
    spec = load_model(args.model, trust_remote_code=args.trust_remote_code, **model_source(args))
    return model_doc(spec)
