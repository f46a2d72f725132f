"""``gpuwise model MODEL``: exact shapes, parameter counts by part, weight memory per dtype."""

from __future__ import annotations

import argparse

from gpuwise.cli.common import add_json, emit
from gpuwise.cli.model_flags import add_model_source, model_source
from gpuwise.models import load_model, preset_names
from gpuwise.render.document import dumps, envelope
from gpuwise.render.model_json import model_doc


def add_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "model",
        help="a model's exact shapes and parameter count",
        description="Read a model's config and show its shapes, its exact parameter count (as "
        "transformers counts model.parameters()), parameters by part and the bytes "
        "of its weights in each dtype. No torch needed for supported model types.",
        epilog="MODEL is a config.json path, a model folder, a preset (gpuwise model --list), a "
        "size such as 7b, or a Hugging Face id in your local HF cache. Example: "
        "gpuwise model qwen3-30b-a3b --json",
    )
    p.add_argument("model", nargs="?", help="config.json, folder, preset, size or HF id")
    p.add_argument("--list", action="store_true", help="list the built-in presets")
    p.add_argument(
        "--trust-remote-code",
        action="store_true",
        help="allow transformers to run code shipped with the model (off by default)",
    )
    add_model_source(p)
    add_json(p)
    p.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    if args.list or args.model is None:
        if not args.list:
            from gpuwise.errors import GpuwiseError

            raise GpuwiseError(
                "give a MODEL (config.json, folder, preset, size or HF id), or "
                "--list for the presets"
            )
        names = preset_names()
        if args.json:
            print(dumps(envelope(presets=names)))
        else:
            print("\n".join(names))
        return 0
    spec = load_model(args.model, trust_remote_code=args.trust_remote_code, **model_source(args))
    from gpuwise.render.tables import model_tables

    return emit(args, model_doc(spec), model_tables)
