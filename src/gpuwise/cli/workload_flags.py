"""The workload flags `plan` and `probe` share, and the Workload they build."""

from __future__ import annotations

import argparse
import re
from collections.abc import Callable

from gpuwise.cli.lang import help_text
from gpuwise.errors import GpuwiseError
from gpuwise.i18n import Message, render
from gpuwise.models.spec import ModelSpec
from gpuwise.units import GIB
from gpuwise.workload import (
    KV_DTYPES,
    LOSSES,
    METHODS,
    OPTIMIZERS,
    PRECISIONS,
    TASKS,
    WEIGHT_DTYPES,
    Workload,
    normalise_weight_dtype,
)

#: --precision's default: each card is planned in its own (gpuwise/plan/data/precision.json).
AUTO = "auto"

#: digits, optional fraction, optional exponent, optional unit: read exactly, never as a float
_AMOUNT = re.compile(r"(\d+)(?:\.(\d+))?(?:e\+?(\d+))?\s*([kmbgt]?)", re.IGNORECASE)
_SCALE = {"": 0, "k": 3, "m": 6, "b": 9, "g": 9, "t": 12}
#: Most tokens a count may be (10 quadrillion), as a power of ten.
_MAX_AMOUNT_EXP = 16


def add_workload(p: argparse.ArgumentParser) -> None:
    g = p.add_argument_group(help_text("workload.group"))
    g.add_argument("--task", default="train", choices=TASKS, help=help_text("workload.opt.task"))
    g.add_argument(
        "--method", default="full", choices=METHODS, help=help_text("workload.opt.method")
    )
    g.add_argument(
        "--precision",
        default=AUTO,
        choices=(AUTO, *PRECISIONS),
        help=help_text("workload.opt.precision"),
    )
    g.add_argument("--batch", type=int, default=1, help=help_text("workload.opt.batch"))
    g.add_argument(
        "--seq",
        type=int,
        help=help_text("workload.opt.seq"),
    )
    g.add_argument(
        "--grad-checkpointing",
        nargs="?",
        const=CKPT_ON,
        default=None,
        action=_Checkpointing,
        metavar="offload",
        help=help_text("workload.opt.ckpt"),
    )
    g.add_argument("--loss", default="full", choices=LOSSES, help=help_text("workload.opt.loss"))
    g.add_argument("--no-upcast", action="store_true", help=help_text("workload.opt.no_upcast"))
    g.add_argument("--packing", action="store_true", help=help_text("workload.opt.packing"))
    g.add_argument(
        "--optimizer-in-bwd", action="store_true", help=help_text("workload.opt.optimizer_in_bwd")
    )
    g.add_argument("--lora-rank", type=int, help=help_text("workload.opt.lora_rank"))
    g.add_argument(
        "--lora-targets",
        help=help_text("workload.opt.lora_targets"),
    )
    g.add_argument(
        "--optimizer", default="adamw", choices=OPTIMIZERS, help=help_text("workload.opt.optimizer")
    )
    g.add_argument(
        "--weight-dtype",
        help=help_text("workload.opt.weight_dtype", dtypes=", ".join(WEIGHT_DTYPES)),
    )
    g.add_argument("--kv-dtype", choices=KV_DTYPES, help=help_text("workload.opt.kv_dtype"))
    g.add_argument(
        "--allow-long-context",
        action="store_true",
        help=help_text("workload.opt.long_context"),
    )


#: --grad-checkpointing given alone; "offload" is its one value.
CKPT_ON = "on"
CKPT_OFFLOAD = "offload"


class _Checkpointing(argparse.Action):
    """``--grad-checkpointing [offload]``. A value that is not ``offload`` was the command's
    model, typed after the flag (``plan --grad-checkpointing llama-3.1-8b``): it goes back
    there when the model was not given, so the flag keeps working as it did without a value."""

    def __call__(
        self,
        parser: argparse.ArgumentParser,
        namespace: argparse.Namespace,
        values: object,
        option_string: str | None = None,
    ) -> None:
        value = str(values)
        if value.strip().lower() == CKPT_OFFLOAD:
            setattr(namespace, self.dest, CKPT_OFFLOAD)
            return
        if value != CKPT_ON:
            if not hasattr(namespace, "model"):
                raise GpuwiseError(Message("workload.ckpt_value", value=_short(value)))
            # the model, typed after the flag: cli/main.py's parser puts it back
            namespace._model_after_flag = value
        if getattr(namespace, self.dest) != CKPT_OFFLOAD:
            setattr(namespace, self.dest, CKPT_ON)


def workload_from(args: argparse.Namespace, spec: ModelSpec) -> Workload:
    lora_flags = [
        f
        for f, v in (("--lora-rank", args.lora_rank), ("--lora-targets", args.lora_targets))
        if v is not None
    ]
    if lora_flags and args.method not in ("lora", "qlora"):
        raise GpuwiseError(
            Message(
                "workload.lora_flags_need_lora",
                flags=lora_flags[0]
                if len(lora_flags) == 1
                else Message("workload.both_flags", first=lora_flags[0], second=lora_flags[1]),
                method=args.method,
            )
        )
    text = "all-linear" if args.lora_targets is None else args.lora_targets
    targets = tuple(
        "all-linear" if t.strip().lower() == "all-linear" else t.strip()
        for t in text.split(",")
        if t.strip()
    )
    given = args.precision != AUTO
    return Workload(
        task=args.task,
        method=args.method,
        precision=args.precision if given else "bf16",
        precision_given=given,
        batch=args.batch,
        seq=args.seq if args.seq is not None else min(2048, spec.max_position_embeddings or 2048),
        grad_checkpointing=args.grad_checkpointing is not None,
        ckpt_offload=args.grad_checkpointing == CKPT_OFFLOAD,
        loss=getattr(args, "loss", "full"),
        upcast=not getattr(args, "no_upcast", False),
        packing=getattr(args, "packing", False),
        optimizer_in_bwd=getattr(args, "optimizer_in_bwd", False),
        lora_rank=16 if args.lora_rank is None else args.lora_rank,
        lora_targets=targets,
        optimizer=args.optimizer,
        weight_dtype=normalise_weight_dtype(args.weight_dtype),
        kv_dtype=args.kv_dtype,
        allow_long_context=args.allow_long_context,
    )


def parse_amount(text: str, flag: str) -> int:
    """``2e9``, ``2,000,000,000``, ``2B`` (or ``2G``), ``500M``, ``1.5t`` -> an integer count,
    exactly (integer arithmetic: ``9007199254740993`` stays itself, ``1e400`` is out of range
    without ever being a float)."""
    m = _AMOUNT.fullmatch(text.replace(",", "").replace("_", "").strip())
    if not m:
        raise GpuwiseError(Message("workload.not_a_count", flag=flag, value=_short(text)))
    whole, frac, exp, unit = m.group(1), (m.group(2) or "").rstrip("0"), m.group(3), m.group(4)
    out_of_range = GpuwiseError(Message("workload.count_range", flag=flag, value=_short(text)))
    digits = (whole + frac).lstrip("0")
    if not digits:
        raise out_of_range  # zero
    if exp is not None and len(exp.lstrip("0")) > 4:
        raise out_of_range  # 1e10000 and beyond
    power = int((exp or "0").lstrip("0") or "0") + _SCALE[unit.lower()] - len(frac)
    # the value is digits x 10**power; its leading digit is at 10**(len(digits) - 1 + power)
    if len(digits) - 1 + power > _MAX_AMOUNT_EXP:
        raise out_of_range
    if power < 0:  # frac has no trailing zeros, so the value has a fractional part
        if len(digits) + power <= 0:
            raise out_of_range  # below 1
        raise GpuwiseError(Message("workload.not_whole", flag=flag, value=_short(text)))
    value = int(digits) * 10**power
    if value > 10**_MAX_AMOUNT_EXP:
        raise out_of_range
    return value


#: --reserve: 0, or from 1 MiB (0.001 GiB) to 1 TiB; a smaller non-zero one would round away.
RESERVE_GIB = (0.001, 1024.0)


def parse_reserve(text: str) -> int:
    """``--reserve 1.5`` (GiB) -> bytes."""
    low, high = RESERVE_GIB
    shown = _short(text)
    try:
        value = float(text)
    except ValueError:
        raise GpuwiseError(Message("workload.reserve_not_number", value=shown)) from None
    if text.strip().startswith("-") or not (value == 0 or low <= value <= high):
        raise GpuwiseError(
            Message("workload.reserve_range", value=shown, low=f"{low:g}", high=f"{high:g}")
        )
    return round(value * GIB)


def card_names(values: list[str] | None, flag: str = "--gpu") -> list[str]:
    """The card names of repeated, comma-separated ``--gpu`` flags; an empty one is an error
    (``--gpu ""`` from an unset shell variable must not mean "every card")."""
    names = []
    for value in values or ():
        for name in value.split(","):
            if not name.strip():
                raise GpuwiseError(
                    Message("workload.empty_card_name", flag=flag, value=_short(value))
                )
            names.append(name.strip())
    return names


def non_empty(example: str) -> Callable[[str], str]:
    """An argparse ``type`` that refuses an empty value (``--tokens ""`` from an unset shell
    variable) instead of taking it for the flag left out."""

    def check(text: str) -> str:
        if not text.strip():
            raise argparse.ArgumentTypeError(render("workload.empty_value", {"example": example}))
        return text

    return check


def _short(text: str, limit: int = 60) -> str | Message:
    """``text`` quoted as Python quotes it (``'2B'``); a long one cut, its length said."""
    if len(text) <= limit:
        return repr(text)
    start = repr(text[:limit])  # the quotes repr picks for the whole: its suffix has none
    return Message("workload.cut", quote=start[0], start=start[1:-1], length=len(text))
