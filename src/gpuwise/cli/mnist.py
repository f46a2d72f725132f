"""``gpuwise mnist``: the classic MNIST network, NumPy from scratch and PyTorch, timed."""

from __future__ import annotations

import argparse
from pathlib import Path

from gpuwise.cli.common import add_json, emit
from gpuwise.cli.lang import help_text
from gpuwise.i18n import t
from gpuwise.render.document import envelope


def add_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "mnist",
        help=help_text("cli.command.mnist"),
        description=help_text("mnist.description"),
        epilog=help_text("mnist.epilog"),
    )
    p.add_argument(
        "--impl",
        type=implementations,
        default="both",
        metavar="numpy|torch|keras|both|all",
        help=help_text("mnist.opt.impl"),
    )
    p.add_argument(
        "--dataset",
        choices=("mnist", "digits"),
        default="mnist",
        help=help_text("mnist.opt.dataset"),
    )
    p.add_argument("--data-dir", type=Path, metavar="DIR", help=help_text("mnist.opt.data_dir"))
    p.add_argument("--no-download", action="store_true", help=help_text("mnist.opt.no_download"))
    p.add_argument("--epochs", type=int, help=help_text("mnist.opt.epochs"))
    p.add_argument("--batch", type=int, help=help_text("mnist.opt.batch"))
    p.add_argument("--lr", type=learning_rate, help=help_text("mnist.opt.lr"))
    p.add_argument(
        "--optimizer",
        choices=("adam", "sgd"),
        default="adam",
        help=help_text("mnist.opt.optimizer"),
    )
    p.add_argument("--seed", type=int, help=help_text("mnist.opt.seed"))
    p.add_argument(
        "--device",
        choices=("auto", "cpu", "cuda"),
        default="auto",
        help=help_text("mnist.opt.device"),
    )
    p.add_argument(
        "--loop",
        choices=("fast", "plain", "both"),
        default="fast",
        help=help_text("mnist.opt.loop"),
    )
    bf = p.add_mutually_exclusive_group()
    bf.add_argument(
        "--bf16", dest="bf16", action="store_true", default=None, help=help_text("mnist.opt.bf16")
    )
    bf.add_argument("--fp32", dest="bf16", action="store_false", help=help_text("mnist.opt.fp32"))
    p.add_argument("--compile", action="store_true", help=help_text("mnist.opt.compile"))
    add_json(p)
    p.set_defaults(run=run)


def implementations(text: str) -> str:
    """``--impl``: checked here so that a typo is a usage error, not a traceback."""
    from gpuwise.errors import GpuwiseError
    from gpuwise.mnist.run import impl_choices, impls

    try:
        impls(text)
    except GpuwiseError as e:
        raise argparse.ArgumentTypeError(impl_choices().render()) from e
    return text


#: A learning rate: a subnormal one never moves a weight, one above 10 overflows them.
LR_RANGE = (1e-6, 10.0)


def learning_rate(text: str) -> float:
    """``--lr``: a number from 1e-06 to 10 (not NaN, not infinite, not subnormal)."""
    low, high = LR_RANGE
    try:
        value = float(text)
    except ValueError:
        value = float("nan")
    if not low <= value <= high:
        raise argparse.ArgumentTypeError(
            t("mnist.error.lr", value=repr(text[:40]), low=f"{low:g}", high=f"{high:g}")
        )
    return value


def run(args: argparse.Namespace) -> int:
    from gpuwise.mnist import Options, run_mnist

    options = Options(
        impl=args.impl,
        dataset=args.dataset,
        data_dir=args.data_dir,
        epochs=args.epochs,
        batch=args.batch,
        lr=args.lr,
        optimizer=args.optimizer,
        seed=args.seed,
        device=args.device,
        loop=args.loop,
        bf16=args.bf16,
        compile=args.compile,
        download=not args.no_download,
        progress=not args.json,
    )
    from gpuwise.render.mnist_tables import mnist_table

    return emit(args, envelope(**run_mnist(options)), mnist_table)
