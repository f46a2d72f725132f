"""``gpuwise probe MODEL --measure``: its flags and its run (the rest of probe is cli/probe.py)."""

from __future__ import annotations

import argparse
from typing import Any

from gpuwise.catalog import Card
from gpuwise.cli.lang import help_text
from gpuwise.models.spec import ModelSpec
from gpuwise.workload import Workload


def add_measure_flags(p: argparse.ArgumentParser) -> None:
    g = p.add_argument_group("--measure")
    g.add_argument("--steps", type=int, default=5, help=help_text("probe.opt.steps"))
    g.add_argument("--warmup", type=int, default=2, help=help_text("probe.opt.warmup"))
    g.add_argument(
        "--device", choices=("cuda", "cpu"), default="cuda", help=help_text("probe.opt.device")
    )


def run_measure(
    args: argparse.Namespace, config: dict[str, Any], spec: ModelSpec, w: Workload
) -> int:
    from gpuwise.plan import estimate_memory
    from gpuwise.plan.precision import for_card
    from gpuwise.probe.measure import check_counts

    check_counts(args.steps, args.warmup)  # before torch loads: a bad count answers at once
    from gpuwise.probe.measure import measure
    from gpuwise.render.document import dumps, envelope
    from gpuwise.render.measure_json import measure_doc_fields
    from gpuwise.render.plan_json import workload_dict

    w, chosen = for_card(w, _this_card(args.device))  # the precision of the card it runs on
    m = measure(config, spec, w, device=args.device, steps=args.steps, warmup=args.warmup)
    doc = envelope(
        model={"name": spec.name, "model_type": spec.model_type, "params": spec.params},
        workload=workload_dict(w, chosen.given),
        **measure_doc_fields(spec, w, m, estimate_memory(spec, w)),
    )
    if chosen.warning:
        doc["notes"].append(str(chosen.warning))  # said in the language in use
    if args.json:
        print(dumps(doc))
        return 0
    from gpuwise.render.measure_tables import console, measure_table

    console().print(measure_table(doc))
    return 0


def _this_card(device: str) -> Card | None:
    """The catalogue's card for the GPU ``--measure`` runs on (None on the CPU, or for a card
    the catalogue lacks: then the precision is that of cards with native bf16)."""
    from gpuwise.probe.measure import cuda_device
    from gpuwise.probe.step import require_torch
    from gpuwise.render.measure_json import detect_card

    if device != "cuda" or not require_torch("probe --measure").cuda.is_available():
        return None  # measure() says why it cannot run, in its words
    return detect_card(*cuda_device())
