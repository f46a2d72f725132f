"""The workload flags `plan` and `probe` share, and the Workload they build."""

from __future__ import annotations

import argparse
import re

from gpuwise.errors import GpuwiseError
from gpuwise.models.spec import ModelSpec
from gpuwise.workload import (
    KV_DTYPES,
    METHODS,
    OPTIMIZERS,
    PRECISIONS,
    TASKS,
    WEIGHT_DTYPES,
    Workload,
    normalise_weight_dtype,
)

_AMOUNT = re.compile(r"^\s*(\d+(?:\.\d+)?(?:e\+?\d+)?)\s*([kmbgt]?)\s*$", re.IGNORECASE)
_SCALE = {"": 1, "k": 10**3, "m": 10**6, "b": 10**9, "g": 10**9, "t": 10**12}


def add_workload(p: argparse.ArgumentParser) -> None:
    g = p.add_argument_group("workload (the reference step: see the README)")
    g.add_argument("--task", default="train", choices=TASKS, help="train (default) or infer")
    g.add_argument("--method", default="full", choices=METHODS, help="full (default), lora, qlora")
    g.add_argument(
        "--precision",
        default="bf16",
        choices=PRECISIONS,
        help="bf16 (default): all 16-bit; amp-bf16 / amp-fp16: fp32 weights, 16-bit compute; fp32",
    )
    g.add_argument("--batch", type=int, default=1, help="sequences per step (default 1)")
    g.add_argument(
        "--seq",
        type=int,
        help="tokens per sequence (default 2048, or the model's context if shorter)",
    )
    g.add_argument("--grad-checkpointing", action="store_true", help="recompute activations")
    g.add_argument("--lora-rank", type=int, help="LoRA rank (default 16)")
    g.add_argument(
        "--lora-targets",
        help="all-linear (default) or module names, comma-separated (q_proj,v_proj)",
    )
    g.add_argument("--optimizer", default="adamw", choices=OPTIMIZERS, help="default adamw")
    g.add_argument(
        "--weight-dtype",
        help=f"infer: how weights are stored ({', '.join(WEIGHT_DTYPES)}; int4 = nf4)",
    )
    g.add_argument("--kv-dtype", choices=KV_DTYPES, help="infer: KV cache dtype")
    g.add_argument(
        "--allow-long-context",
        action="store_true",
        help="accept --seq above the model's max_position_embeddings",
    )


def workload_from(args: argparse.Namespace, spec: ModelSpec) -> Workload:
    lora_flags = [
        f
        for f, v in (("--lora-rank", args.lora_rank), ("--lora-targets", args.lora_targets))
        if v is not None
    ]
    if lora_flags and args.method not in ("lora", "qlora"):
        raise GpuwiseError(
            f"{' and '.join(lora_flags)} apply to --method lora or qlora, not {args.method}"
        )
    text = "all-linear" if args.lora_targets is None else args.lora_targets
    targets = tuple(
        "all-linear" if t.strip().lower() == "all-linear" else t.strip()
        for t in text.split(",")
        if t.strip()
    )
    return Workload(
        task=args.task,
        method=args.method,
        precision=args.precision,
        batch=args.batch,
        seq=args.seq if args.seq is not None else min(2048, spec.max_position_embeddings or 2048),
        grad_checkpointing=args.grad_checkpointing,
        lora_rank=16 if args.lora_rank is None else args.lora_rank,
        lora_targets=targets,
        optimizer=args.optimizer,
        weight_dtype=normalise_weight_dtype(args.weight_dtype),
        kv_dtype=args.kv_dtype,
        allow_long_context=args.allow_long_context,
    )


def parse_amount(text: str, flag: str) -> int:
    """``2e9``, ``2,000,000,000``, ``2B`` (or ``2G``), ``500M``, ``1.5t`` -> an integer count."""
    m = _AMOUNT.match(text.replace(",", "").replace("_", ""))
    if not m:
        raise GpuwiseError(f"{flag} {text!r} is not a count; use e.g. 2000000000, 2e9, 2B or 500M")
    value = float(m.group(1)) * _SCALE[m.group(2).lower()]
    if not 1 <= value <= 1e16:
        raise GpuwiseError(f"{flag} {text!r} is out of range; use 1 to 10 quadrillion")
    if value != int(value):
        raise GpuwiseError(f"{flag} {text!r} is not a whole number of tokens")
    return int(value)


def parse_reserve(text: str) -> int:
    """``--reserve 1.5`` (GiB) -> bytes."""
    try:
        value = float(text)
    except ValueError:
        raise GpuwiseError(
            f"--reserve {text!r} is not a number of GiB; use e.g. 0.5 for a display"
        ) from None
    if not 0 <= value <= 1024:
        raise GpuwiseError(f"--reserve {text!r} GiB is out of range; use 0 to 1024")
    return round(value * (1 << 30))
