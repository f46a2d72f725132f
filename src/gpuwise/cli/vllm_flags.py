"""vLLM's flags of ``plan --task infer --engine vllm`` (``--gpu-memory-utilization``,
``--max-num-batched-tokens``, ``--max-num-seqs``, ``--concurrency``) and the settings they
build, with ``--weight-dtype``, ``--kv-dtype`` and ``--gpus`` (the tensor-parallel size)."""

from __future__ import annotations

import argparse

from gpuwise.cli.lang import help_text
from gpuwise.errors import GpuwiseError
from gpuwise.i18n import Message
from gpuwise.models.spec import ModelSpec

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

    from gpuwise.infer.vllm import VllmSettings

_FLAGS = ("gpu_memory_utilization", "max_num_batched_tokens", "max_num_seqs", "concurrency")


def add_vllm_flags(p: argparse.ArgumentParser) -> None:
    g = p.add_argument_group(help_text("vllm.group"))
    g.add_argument(
        "--gpu-memory-utilization", type=float, metavar="F", help=help_text("vllm.opt.util")
    )
    g.add_argument(
        "--max-num-batched-tokens", type=int, metavar="N", help=help_text("vllm.opt.batched")
    )
    g.add_argument("--max-num-seqs", type=int, metavar="N", help=help_text("vllm.opt.seqs"))
    g.add_argument("--concurrency", type=int, metavar="N", help=help_text("vllm.opt.concurrency"))


def given_flags(args: argparse.Namespace) -> list[str]:
    return [f"--{n.replace('_', '-')}" for n in _FLAGS if getattr(args, n, None) is not None]


def refuse_unless_vllm(args: argparse.Namespace) -> None:
    """vLLM's flags for another engine or task: one line."""
    given = given_flags(args)
    if given:
        raise GpuwiseError(Message("vllm.flags_need_vllm", flags=", ".join(given)))


def vllm_from(args: argparse.Namespace, spec: ModelSpec, llama_given: list[str]) -> VllmSettings:
    """The vLLM settings the flags ask for; ``--weight-dtype`` and ``--kv-dtype`` are taken
    here and cleared from ``args`` (the transformers workload does not see them)."""
    from gpuwise.infer import vllm as v

    if llama_given:
        raise GpuwiseError(Message("infer.flags_need_llama", flags=", ".join(llama_given)))
    if getattr(args, "precision", "auto") not in ("auto", None):  # None: not given
        raise GpuwiseError(Message("vllm.precision", precision=args.precision))
    weight, given = v.weight_type(_flag(args, "weight_dtype"))
    gpus = _flag(args, "gpus")
    tp = 1 if gpus is None else gpus
    if not 1 <= tp <= 64:
        raise GpuwiseError(Message("vllm.tp_range", value=tp))
    if getattr(args, "strategy", None) not in (None, "single") and tp > 1:
        raise GpuwiseError(Message("vllm.tp_only", strategy=args.strategy))
    v.check_tensor_parallel(spec, tp)
    tokens = v.count_flag(
        _flag(args, "max_num_batched_tokens"), "--max-num-batched-tokens", v.MAX_TOKENS
    )
    seqs = v.count_flag(_flag(args, "max_num_seqs"), "--max-num-seqs", v.MAX_SEQS)
    if tokens is not None and seqs is not None:
        v.check_batching(tokens, seqs)
    settings = v.VllmSettings(
        weight_type=weight,
        kv_type=v.kv_type(_flag(args, "kv_dtype")),
        gpu_memory_utilization=v.utilization(_flag(args, "gpu_memory_utilization")),
        max_num_batched_tokens=tokens,
        max_num_seqs=seqs,
        concurrency=v.count_flag(_flag(args, "concurrency"), "--concurrency", v.MAX_SEQS),
        tensor_parallel=tp,
        weight_type_given=given,
    )
    args.weight_dtype = None
    args.kv_dtype = None
    args.gpus = None  # the tensor-parallel size: not a training strategy's ranks
    return settings


def _flag(args: argparse.Namespace, name: str) -> Any:
    """A vLLM flag's value; None where the command has no such flag (recommend). argparse
    gives ``--flag=--`` as an empty list, not a value: said in one line."""
    value = getattr(args, name, None)
    if isinstance(value, list):
        raise GpuwiseError(Message("vllm.no_value", flag=f"--{name.replace('_', '-')}"))
    return value
