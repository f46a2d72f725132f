"""``gpuwise bench``: the local device's real rates beside the catalogue's, saved for ``plan``."""

from __future__ import annotations

import argparse
import sys
from typing import Any

from gpuwise.cli.common import add_json
from gpuwise.cli.lang import help_text
from gpuwise.errors import GpuwiseError
from gpuwise.i18n import Message, t
from gpuwise.visible import visible


def add_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "bench",
        help=help_text("cli.command.bench"),
        description=help_text("bench.description"),
        epilog=help_text("bench.epilog"),
    )
    p.add_argument("--quick", action="store_true", help=help_text("bench.opt.quick"))
    p.add_argument("--cpu", action="store_true", help=help_text("bench.opt.cpu"))
    p.add_argument("--no-train", action="store_true", help=help_text("bench.opt.no_train"))
    p.add_argument("--no-save", action="store_true", help=help_text("bench.opt.no_save"))
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
            raise GpuwiseError(Message("bench.error.no_kernel_image", name=dev.name)) from None
        raise
    doc["saved_to"] = None
    if args.quick:
        doc.setdefault("notes", []).append(t("bench.note.quick"))
    if not args.no_save:
        from gpuwise.timing.calibration import save_bench

        try:
            doc["saved_to"] = str(save_bench(doc, dev.slug))
        except OSError as e:
            reason = visible(str(e.strerror or e))
            print(t("bench.not_saved", reason=reason), file=sys.stderr)
    if args.json:
        print(dumps(doc))
        return 0
    from gpuwise.render.measure_tables import bench_table, console

    console().print(bench_table(doc))
    if doc["saved_to"]:
        print(t("bench.saved_to", path=visible(doc["saved_to"])), file=sys.stderr)
    return 0


def step_name(name: str) -> str:
    """A bench step's name for the progress bar (``matmul bf16``, ``bandwidth``), said."""
    if name.startswith("matmul "):
        return t("bench.step.matmul", dtype=name.removeprefix("matmul "))
    key = {"bandwidth": "bench.step.bandwidth", "train step": "bench.step.train"}.get(name)
    return t(key) if key else name


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
        self.bar.update(self.task, description=step_name(name))

    def __exit__(self, *exc: Any) -> None:
        self.bar.stop()
