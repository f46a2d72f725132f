"""``gpuwise bench``: the local device's real rates beside the catalogue's, saved for ``plan``."""

from __future__ import annotations

import argparse
import sys
from typing import Any

from gpuwise.cli.common import add_json
from gpuwise.errors import GpuwiseError
from gpuwise.visible import visible


def add_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "bench",
        help="measure this machine's GPU (or CPU): matmul TFLOPS, bandwidth, a training step",
        description="Measure matrix-product throughput per dtype (fp32, tf32, fp16, bf16, fp8), "
        "device memory bandwidth, host<->device bandwidth and a GPT-2 124M training step on "
        "CUDA device 0 (the CPU when there is none), each beside the catalogue's figure for the "
        "card. Results are saved under $XDG_CACHE_HOME/gpuwise/bench (~/.cache by default), "
        "where `gpuwise plan` uses them to calibrate its time model for that card. Needs torch.",
        epilog="Examples: gpuwise bench | gpuwise bench --json --no-save | gpuwise bench --quick",
    )
    p.add_argument(
        "--quick", action="store_true", help="smaller sizes and fewer repeats (seconds; for tests)"
    )
    p.add_argument("--cpu", action="store_true", help="bench the CPU even when a GPU is present")
    p.add_argument("--no-train", action="store_true", help="skip the training step")
    p.add_argument("--no-save", action="store_true", help="do not save the results for plan")
    add_json(p)
    p.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    from gpuwise.bench.device import detect
    from gpuwise.bench.run import run_bench, steps
    from gpuwise.render.document import dumps

    dev = detect(force_cpu=args.cpu)
    try:
        with _progress(steps(not args.no_train)) as advance:
            doc = run_bench(dev, quick=args.quick, train=not args.no_train, progress=advance)
    except RuntimeError as e:
        if "no kernel image" in str(e):  # the installed torch has no kernels for this card
            raise GpuwiseError(
                f'torch cannot run kernels on {dev.name} ("no kernel image is available"): '
                "`gpuwise doctor` names the torch build that can"
            ) from None
        raise
    doc["saved_to"] = None
    if args.quick:
        doc.setdefault("notes", []).append("a --quick bench does not calibrate plan (too short)")
    if not args.no_save:
        from gpuwise.timing.calibration import save_bench

        try:
            doc["saved_to"] = str(save_bench(doc, dev.slug))
        except OSError as e:
            reason = visible(str(e.strerror or e))
            print(f"gpuwise bench: warning: not saved ({reason})", file=sys.stderr)
    if args.json:
        print(dumps(doc))
        return 0
    from gpuwise.render.measure_tables import bench_table, console

    console().print(bench_table(doc))
    if doc["saved_to"]:
        print(f"saved to {visible(doc['saved_to'])}", file=sys.stderr)
    return 0


class _progress:
    """A rich progress bar on stderr, one tick per bench step (silent when stderr is no tty)."""

    def __init__(self, names: list[str]) -> None:
        self.names = names
        self.bar: Any = None
        self.task: Any = None
        self.started = False

    def __enter__(self) -> Any:
        from rich.console import Console
        from rich.progress import Progress

        self.bar = Progress(console=Console(stderr=True), transient=True)
        self.bar.start()
        self.task = self.bar.add_task("bench", total=len(self.names))
        return self.advance

    def advance(self, name: str) -> None:
        if self.started:
            self.bar.advance(self.task)
        self.started = True
        self.bar.update(self.task, description=name)

    def __exit__(self, *exc: Any) -> None:
        self.bar.stop()
