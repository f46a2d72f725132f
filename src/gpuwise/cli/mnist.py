"""``gpuwise mnist``: the classic MNIST network, NumPy from scratch and PyTorch, timed."""

from __future__ import annotations

import argparse
from pathlib import Path

from gpuwise.cli.common import add_json, emit
from gpuwise.render.document import envelope


def add_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "mnist",
        help="how a network learns: the classic MNIST MLP in NumPy and PyTorch, GPU speedup",
        description="Train Flatten -> Dense 128 ReLU -> Dropout 0.2 -> Dense 10 softmax with "
        "sparse categorical cross-entropy, in NumPy written out (forward y = f(Wx + b), "
        "backprop, Adam or plain gradient descent) and in PyTorch on the best device; report "
        "test accuracy, time per epoch and, with a GPU, the speedup over the CPU. "
        "Defaults: --dataset mnist as Keras' example (Adam lr 0.001, batch 32, 5 epochs; the "
        "PyTorch fast loop batch 512, lr 0.005); --dataset digits (scikit-learn's 8x8 digits, "
        "offline, 1,438 train / 359 test by class with seed 0): 40 epochs, lr 0.002, batch 32 "
        "(fast loop batch 64, lr 0.004), seed 0. MNIST is downloaded once, checked against its "
        "published SHA-256 and cached in ~/.cache/gpuwise/mnist ($XDG_CACHE_HOME).",
        epilog="Examples: gpuwise mnist --impl numpy --dataset digits | "
        "gpuwise mnist --impl all (NumPy, PyTorch and Keras, one table) | "
        "gpuwise mnist --impl torch --loop both | gpuwise mnist --data-dir ~/data/mnist "
        "--impl numpy --optimizer sgd --epochs 3 | gpuwise mnist --json",
    )
    p.add_argument(
        "--impl",
        type=implementations,
        default="both",
        metavar="numpy|torch|keras|both|all",
        help="NumPy from scratch, PyTorch, Keras (TensorFlow's beginner quickstart as written; "
        "needs gpuwise[keras]), several joined by commas (numpy,keras), both (numpy and "
        "torch, the default) or all three in one run",
    )
    p.add_argument(
        "--dataset",
        choices=("mnist", "digits"),
        default="mnist",
        help="mnist (70,000 28x28 images) or digits (scikit-learn's 1,797 8x8, "
        "offline); default mnist",
    )
    p.add_argument(
        "--data-dir",
        type=Path,
        metavar="DIR",
        help="a folder with the four MNIST IDX files (.gz or plain); no download",
    )
    p.add_argument(
        "--no-download",
        action="store_true",
        help="use only the cache or --data-dir, never the network",
    )
    p.add_argument("--epochs", type=int, help="passes over the training set (mnist 5, digits 40)")
    p.add_argument(
        "--batch",
        type=int,
        help="images per step, for every run (default: 32; PyTorch fast loop "
        "512 on mnist, 64 on digits)",
    )
    p.add_argument(
        "--lr",
        type=learning_rate,
        help="learning rate, for every run (default Adam: mnist 0.001, digits 0.002, "
        "fast loop 0.005 / 0.004; sgd 0.1)",
    )
    p.add_argument(
        "--optimizer",
        choices=("adam", "sgd"),
        default="adam",
        help="adam (Keras' constants) or plain gradient descent W -= lr dL/dW",
    )
    p.add_argument("--seed", type=int, help="initial weights, shuffling and dropout (default 0)")
    p.add_argument(
        "--device",
        choices=("auto", "cpu", "cuda"),
        default="auto",
        help="PyTorch's device (auto: cuda when usable)",
    )
    p.add_argument(
        "--loop",
        choices=("fast", "plain", "both"),
        default="fast",
        help="PyTorch loop: fast (data on the device, batch 512, bf16 where native), "
        "plain (DataLoader, batch 32), or both to compare (default fast)",
    )
    bf = p.add_mutually_exclusive_group()
    bf.add_argument(
        "--bf16",
        dest="bf16",
        action="store_true",
        default=None,
        help="fast loop: bf16 autocast (default where the device runs bf16 natively)",
    )
    bf.add_argument("--fp32", dest="bf16", action="store_false", help="fast loop: fp32 only")
    p.add_argument(
        "--compile",
        action="store_true",
        help="fast loop: torch.compile the model (slow first epoch; measure)",
    )
    add_json(p)
    p.set_defaults(run=run)


def implementations(text: str) -> str:
    """``--impl``: checked here so that a typo is a usage error, not a traceback."""
    from gpuwise.errors import GpuwiseError
    from gpuwise.mnist.run import impls

    try:
        impls(text)
    except GpuwiseError as e:
        raise argparse.ArgumentTypeError(str(e).removeprefix(f"--impl {text[:40]!r}: ")) from e
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
            f"{text[:40]!r} is not a learning rate; give a number from {low:g} to {high:g}, "
            "e.g. 0.001"
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
    from gpuwise.render.tables import mnist_table

    return emit(args, envelope(**run_mnist(options)), mnist_table)
