"""``--framework``: the framework a plan trains with, and the workload its defaults give.

A framework's default sets a workload field unless the user gave that field's flag, so the
flags whose default a framework may change are read as "not given" (None) here and filled in
with the reference step's value before the workload is built."""

from __future__ import annotations

import argparse

from gpuwise.cli import workload_flags as flags
from gpuwise.cli.lang import help_text
from gpuwise.errors import GpuwiseError
from gpuwise.frameworks import FRAMEWORKS, REFERENCE
from gpuwise.i18n import Message, cut, render
from gpuwise.models.spec import ModelSpec
from gpuwise.workload import Workload

TYPE_CHECKING = False
if TYPE_CHECKING:
    from gpuwise.frameworks.defaults import Applied

#: argparse destination -> (the reference step's value, the workload fields it sets)
_TRACKED = {
    "loss": ("full", ("loss",)),
    "optimizer": ("adamw", ("optimizer",)),
    "grad_checkpointing": (None, ("grad_checkpointing", "ckpt_offload")),
    "no_upcast": (False, ("upcast",)),
    "packing": (False, ("packing",)),
    "optimizer_in_bwd": (False, ("optimizer_in_bwd",)),
    # --precision other than auto says what the weights are (auto: each card's own, as the
    # framework runs it)
    "precision": (flags.AUTO, ("master_fp32",)),
    "lora_rank": (None, ("lora_rank",)),
    "lora_targets": (None, ("lora_targets",)),
    # the two that switch off what a framework switches on (the reference's own values)
    "no_grad_checkpointing": (False, ("grad_checkpointing", "ckpt_offload")),
    "upcast": (False, ("upcast",)),
}
#: Flags that cannot be given together: (dest, flag) pairs.
_OPPOSITES = (
    (
        ("grad_checkpointing", "--grad-checkpointing"),
        ("no_grad_checkpointing", "--no-grad-checkpointing"),
    ),
    (("no_upcast", "--no-upcast"), ("upcast", "--upcast")),
)


def add_framework_flag(p: argparse.ArgumentParser) -> None:
    """``--framework``; call after the workload flags (it makes their defaults "not given")."""
    p.add_argument(
        "--framework",
        default=REFERENCE,
        type=framework_name,
        metavar="|".join(FRAMEWORKS),
        help=help_text("frameworks.opt.framework"),
    )
    p.add_argument(
        "--no-grad-checkpointing",
        action="store_true",
        help=help_text("frameworks.opt.no_ckpt"),
    )
    p.add_argument("--upcast", action="store_true", help=help_text("frameworks.opt.upcast"))
    p.set_defaults(loss=None, optimizer=None, no_upcast=None, packing=None)


def framework_name(text: str) -> str:
    """``--framework``'s value as people type it (``LLaMA-Factory``, ``TRL``) -> its name."""
    key = text.strip().lower().replace("-", "").replace("_", "")
    if key in FRAMEWORKS:
        return key
    raise argparse.ArgumentTypeError(
        render(
            "frameworks.unknown",
            {"value": cut(repr(text), 60), "allowed": ", ".join(FRAMEWORKS)},
        )
    )


def given_fields(args: argparse.Namespace) -> frozenset[str]:
    """The workload fields the user set by a flag."""
    out: set[str] = set()
    for dest, (reference, fields) in _TRACKED.items():
        value = getattr(args, dest, None)
        if value is None or value is False or (dest == "precision" and value == reference):
            continue
        out.update(fields)
    return frozenset(out)


def framework_workload(
    args: argparse.Namespace, spec: ModelSpec
) -> tuple[Workload, Applied | None]:
    """The workload ``args`` ask for, with ``--framework``'s defaults where no flag was given,
    and what the framework changed (None: the reference, nothing)."""
    for (one, one_flag), (other, other_flag) in _OPPOSITES:
        if getattr(args, one, None) and getattr(args, other, None):
            raise GpuwiseError(Message("frameworks.opposites", first=one_flag, second=other_flag))
    given = given_fields(args)
    filled = argparse.Namespace(**vars(args))
    for dest, (reference, _) in _TRACKED.items():
        if getattr(filled, dest, None) is None:
            setattr(filled, dest, reference)
    w = flags.workload_from(filled, spec)
    accum = getattr(args, "grad_accum", 1)
    if w.optimizer_in_bwd and isinstance(accum, int) and accum > 1:
        raise GpuwiseError(Message("frameworks.in_bwd_accum", accum=accum))
    name = getattr(args, "framework", REFERENCE)
    if name == REFERENCE:
        return w, None
    from gpuwise.frameworks.defaults import apply_framework, without_in_bwd

    w, applied = apply_framework(name, w, spec, given)
    if w.optimizer_in_bwd and isinstance(accum, int) and accum > 1:
        return without_in_bwd(w, applied)  # torchtune refuses it with accumulation
    return w, applied
