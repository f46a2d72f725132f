"""The multi-card flags `plan`, `probe` and `recommend` share, and the Parallel they build."""

from __future__ import annotations

import argparse

from gpuwise.cli.lang import help_text
from gpuwise.parallel import STRATEGIES, Parallel, validate_parallel


def add_parallel(p: argparse.ArgumentParser, *, strategy_default: str | None = "single") -> None:
    g = p.add_argument_group(help_text("parallel.group"))
    g.add_argument("--gpus", type=int, default=None, help=help_text("parallel.opt.gpus"))
    g.add_argument(
        "--strategy",
        choices=tuple(STRATEGIES),
        default=None,
        help=help_text("parallel.opt.strategy"),
    )
    g.add_argument(
        "--shard-size", type=int, default=None, help=help_text("parallel.opt.shard_size")
    )
    g.add_argument(
        "--grad-accum",
        type=int,
        default=1,
        help=help_text("parallel.opt.grad_accum"),
    )


def parallel_from(args: argparse.Namespace) -> Parallel:
    """The Parallel the flags ask for: --gpus alone picks fsdp for 2+ cards."""
    gpus = 1 if args.gpus is None else args.gpus
    strategy = args.strategy or ("single" if gpus == 1 else "fsdp")
    return validate_parallel(
        Parallel(
            strategy=strategy, gpus=gpus, shard_size=args.shard_size, grad_accum=args.grad_accum
        )
    )
