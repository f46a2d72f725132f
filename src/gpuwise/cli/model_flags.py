"""``--download`` and ``--source``: where a model named by its hub id may come from (the flags of
``model``, ``plan``, ``recommend`` and ``probe``)."""

from __future__ import annotations

import argparse

from gpuwise.errors import GpuwiseError
from gpuwise.models.hub_id import SOURCES

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import TypedDict

    class ModelSource(TypedDict):
        download: bool
        source: str


def add_model_source(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--download",
        action="store_true",
        help="for a hub id (org/name) in no local cache: fetch its config.json, and nothing "
        "else, from huggingface.co ($HF_ENDPOINT for a mirror such as https://hf-mirror.com) "
        "or with --source modelscope from ModelScope, and keep it for the next run "
        "(off by default: nothing is downloaded without it)",
    )
    parser.add_argument(
        "--source",
        choices=SOURCES,
        help="where --download fetches from (default huggingface)",
    )


def model_source(args: argparse.Namespace) -> ModelSource:
    """The keyword arguments of ``load_model`` / ``resolve`` the flags ask for."""
    if args.source is not None and not args.download:
        raise GpuwiseError(
            f"--source {args.source} says where --download fetches from; add --download, "
            "or drop --source (nothing is downloaded without --download)"
        )
    return {"download": bool(args.download), "source": args.source or SOURCES[0]}
