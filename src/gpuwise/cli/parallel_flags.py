"""The multi-card flags `plan`, `probe` and `recommend` share, and the Parallel they build."""

from __future__ import annotations

import argparse

from gpuwise.parallel import STRATEGIES, Parallel, validate_parallel


def add_parallel(p: argparse.ArgumentParser, *, strategy_default: str | None = "single") -> None:
    g = p.add_argument_group("several cards (one machine)")
    g.add_argument(
        "--gpus", type=int, default=None, help="identical cards in the machine (1 to 8; default 1)"
    )
    g.add_argument(
        "--strategy",
        choices=tuple(STRATEGIES),
        default=None,
        help="single (default for 1 card), ddp, fsdp, fsdp-hybrid, fsdp-offload, zero1, zero2, "
        "zero2-offload, zero3, zero3-offload (fsdp for 2+ cards)",
    )
    g.add_argument(
        "--shard-size", type=int, default=None, help="fsdp-hybrid: cards per shard group"
    )
    g.add_argument(
        "--grad-accum",
        type=int,
        default=1,
        help="micro-batches per optimizer step (default 1); global batch = batch x gpus x this",
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
