"""Time the PyTorch MNIST fast loop against the straightforward DataLoader loop (batch 32).

    python scripts/bench_mnist.py [--data-dir DIR] [--epochs 3] [--threads N] [--device auto]

Both loops train the same network with the same optimizer on the same machine; the figure is the
median epoch after the first (which also warms up), and the ratio plain / fast. Without
--data-dir the data are MNIST-shaped random images (60,000 + 10,000 of 28 x 28 uint8, 10
classes): the time of an epoch does not depend on what the pixels show, the accuracy does (so it
is printed only for real data). The issue's target: fast >= 5x faster per epoch.
"""

from __future__ import annotations

import argparse
import json
import platform
import statistics
from pathlib import Path


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--data-dir", type=Path, help="real MNIST IDX files (default: synthetic)")
    ap.add_argument("--epochs", type=int, default=3)
    ap.add_argument("--threads", type=int, help="torch.set_num_threads (default: torch's)")
    ap.add_argument("--device", default="auto", choices=("auto", "cpu", "cuda"))
    ap.add_argument("--fp32", action="store_true", help="fast loop without bf16 autocast")
    ap.add_argument("--json", type=Path, help="also write the figures to this file")
    args = ap.parse_args()

    from gpuwise.mnist import data
    from gpuwise.mnist import torch_mlp as tm
    from gpuwise.mnist.config import defaults

    torch = tm.torch
    if args.threads:
        torch.set_num_threads(args.threads)
    ds = data.load_idx_dir(args.data_dir) if args.data_dir else data.synthetic_mnist()
    device = tm.pick_device(args.device)
    d = defaults("mnist")
    bf16 = not args.fp32 and tm.bf16_supported(device)
    loops = {
        "plain": dict(loop="plain", batch=d["batch"], lr=d["lr"], bf16=False),
        "fast": dict(loop="fast", batch=d["fast_batch"], lr=d["fast_lr"], bf16=bf16),
    }
    out: dict = {
        "data": ds.source,
        "device": str(device),
        "device_name": torch.cuda.get_device_name(device) if device.type == "cuda" else None,
        "cpu": platform.processor() or platform.machine(),
        "torch": torch.__version__,
        "threads": torch.get_num_threads(),
        "epochs": args.epochs,
        "runs": {},
    }
    for name, settings in loops.items():
        r = tm.train(
            ds.x_train,
            ds.y_train,
            ds.x_test,
            ds.y_test,
            ds.pixel_max,
            epochs=args.epochs,
            seed=0,
            device=device,
            **settings,
        )
        steady = statistics.median(r.epoch_seconds[1:] or r.epoch_seconds)
        out["runs"][name] = {
            **settings,
            "epoch_seconds": [round(s, 3) for s in r.epoch_seconds],
            "steady_epoch_seconds": round(steady, 4),
            "test_accuracy": r.test_accuracy if args.data_dir else None,
        }
        acc = f", test accuracy {100 * r.test_accuracy:.2f} %" if args.data_dir else ""
        print(
            f"{name:5s} batch {settings['batch']:3d} lr {settings['lr']:g} "
            f"bf16 {settings['bf16']!s:5s}: epochs {out['runs'][name]['epoch_seconds']} s, "
            f"median after the first {steady:.3f} s{acc}",
            flush=True,
        )
    ratio = (
        out["runs"]["plain"]["steady_epoch_seconds"] / out["runs"]["fast"]["steady_epoch_seconds"]
    )
    out["ratio_plain_over_fast"] = round(ratio, 2)
    print(
        f"fast is {ratio:.1f}x faster per epoch than plain on {out['device']} "
        f"({out['cpu']}, {out['threads']} threads, torch {out['torch']})"
    )
    if args.json:
        args.json.write_text(json.dumps(out, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
