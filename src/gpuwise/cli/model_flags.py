"""``--download`` and ``--source``: where a model named by its hub id may come from (the flags of
``model``, ``plan``, ``recommend`` and ``probe``)."""

from __future__ import annotations

import argparse

from gpuwise.cli.lang import help_text
from gpuwise.errors import GpuwiseError
from gpuwise.i18n import Message
from gpuwise.models.hub_id import SOURCES

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import TypedDict

    class ModelSource(TypedDict):
        download: bool
        source: str


def add_model_source(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--download", action="store_true", help=help_text("model.opt.download"))
    parser.add_argument("--source", choices=SOURCES, help=help_text("model.opt.source"))


def model_source(args: argparse.Namespace) -> ModelSource:
    """The keyword arguments of ``load_model`` / ``resolve`` the flags ask for."""
    if args.source is not None and not args.download:
        raise GpuwiseError(Message("model.source_without_download", source=args.source))
    return {"download": bool(args.download), "source": args.source or SOURCES[0]}
