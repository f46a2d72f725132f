"""The inference-engine flags of ``plan`` (``--engine``, ``--gpu-layers``, ``--ubatch``,
``--flash-attn``, ``--host-bandwidth``) and the llama.cpp settings they build."""

from __future__ import annotations

import argparse
import re

from gpuwise.cli.lang import help_text
from gpuwise.errors import GpuwiseError
from gpuwise.i18n import Message
from gpuwise.models.spec import ModelSpec

TYPE_CHECKING = False
if TYPE_CHECKING:
    from gpuwise.catalog import Card, Catalog
    from gpuwise.infer.engine import EngineSettings
    from gpuwise.infer.vllm import VllmSettings

#: --kv-dtype values llama.cpp adds to transformers' (gpuwise.infer.engine.KV_TYPES).
LLAMA_KV = ("f16", "q8_0", "q4_0")
_LLAMA_FLAGS = ("gpu_layers", "ubatch", "flash_attn", "host_bandwidth", "split_mode")
#: "2x3090", "2 x 3090", "2×3090": a count of one card in a machine.
_COUNT = re.compile(r"(\d+)\s*[x×*]\s*(\S.*)", re.IGNORECASE)
#: Most cards of one machine gpuwise plans a layer split over.
MAX_MACHINE_CARDS = 16


def add_engine_flags(p: argparse.ArgumentParser) -> None:
    g = p.add_argument_group(help_text("infer.group"))
    g.add_argument("--engine", help=help_text("infer.opt.engine"))
    g.add_argument("--gpu-layers", metavar="N|auto", help=help_text("infer.opt.gpu_layers"))
    g.add_argument("--ubatch", type=int, help=help_text("infer.opt.ubatch"))
    g.add_argument("--flash-attn", metavar="on|off|auto", help=help_text("infer.opt.flash_attn"))
    g.add_argument("--host-bandwidth", metavar="GB/s", help=help_text("infer.opt.host_bandwidth"))
    g.add_argument("--split-mode", metavar="layer|row", help=help_text("infer.opt.split_mode"))
    for action in p._actions:  # llama.cpp's cache types join transformers' --kv-dtype choices
        if "--kv-dtype" in action.option_strings and action.choices is not None:
            action.choices = (*action.choices, *(k for k in LLAMA_KV if k not in action.choices))


def engine_from(args: argparse.Namespace, spec: ModelSpec) -> EngineSettings | VllmSettings | None:
    """The llama.cpp settings the flags ask for, or None for transformers (today's reference).
    For llama.cpp the GGUF ``--weight-dtype`` and ``--kv-dtype`` are taken here and cleared from
    ``args``, so that the transformers workload built from it does not see them."""
    from gpuwise.cli.vllm_flags import refuse_unless_vllm, vllm_from

    given = [f"--{n.replace('_', '-')}" for n in _LLAMA_FLAGS if getattr(args, n) is not None]
    if args.task != "infer":
        refuse_unless_vllm(args)
        if args.engine is not None or given:
            flags = ", ".join((["--engine"] if args.engine is not None else []) + given)
            raise GpuwiseError(Message("infer.flags_need_infer", flags=flags))
        return None
    from gpuwise.infer import engine as e  # inference only: a training plan never loads it

    own = spec.extra.get("gguf_file_type")  # a GGUF file: by default, llama.cpp at its types
    if args.weight_dtype is None and isinstance(own, str) and e.gguf_type(own) is not None:
        args.weight_dtype = own
    name = e.choose_engine(args.engine, args.weight_dtype)
    if name == "vllm":
        return vllm_from(args, spec, given)
    refuse_unless_vllm(args)
    if name == "transformers":
        if given:
            raise GpuwiseError(Message("infer.flags_need_llama", flags=", ".join(given)))
        wt = e.gguf_type(args.weight_dtype)
        if wt is not None and wt not in ("bf16", "f32"):
            raise GpuwiseError(Message("infer.gguf_needs_llama", value=repr(args.weight_dtype)))
        if args.kv_dtype in ("q8_0", "q4_0", "f16"):
            raise GpuwiseError(Message("infer.kv_needs_llama", value=repr(args.kv_dtype)))
        return None
    if getattr(args, "precision", "auto") not in ("auto", None):  # None: not given
        raise GpuwiseError(Message("infer.precision_not_llama", precision=args.precision))
    weight_type, weight_given = e.weight_type(args.weight_dtype)
    bandwidth, bandwidth_given = e.host_bandwidth(args.host_bandwidth)
    settings = e.EngineSettings(
        engine=name,
        weight_type=weight_type,
        kv_type=e.kv_type(args.kv_dtype),
        gpu_layers=e.gpu_layers(args.gpu_layers, spec),
        ubatch=e.check_ubatch(512 if args.ubatch is None else args.ubatch),
        flash_attn=e.flash_attn(args.flash_attn),
        n_ctx=args.seq,
        host_bandwidth_gb_s=bandwidth,
        host_bandwidth_given=bandwidth_given,
        weight_type_given=weight_given,
        split_mode=e.split_mode(args.split_mode),
    )
    args.weight_dtype = None
    args.kv_dtype = None
    return e.check(settings)


def is_machine(name: str) -> bool:
    """Whether a --gpu name is a machine of several cards: ``4090+3090``, ``2x3090``."""
    return "+" in name or _COUNT.fullmatch(name.strip()) is not None


def machines_from(
    names: list[str], catalog: Catalog, engine: EngineSettings | None, vllm: bool = False
) -> list[list[Card]] | None:
    """The machines ``--gpu 4090+3090`` / ``2x3090`` name, for llama.cpp's layer split; None
    when no name is one (each --gpu is then one card). ``vllm``: the plan is vLLM's, whose
    tensor parallel is written --gpu CARD --gpus N (a machine name is one line saying so)."""
    if not any(is_machine(n) for n in names):
        return None
    if vllm:
        name = next(n for n in names if is_machine(n))
        m = _COUNT.fullmatch(name.strip())
        if m and "+" not in name:
            raise GpuwiseError(
                Message("vllm.machine_count", name=name, card=m.group(2).strip(), count=m.group(1))
            )
        raise GpuwiseError(Message("vllm.machine_mixed", name=name))
    if engine is None:
        raise GpuwiseError(
            Message("infer.machine_needs_llama", name=next(n for n in names if is_machine(n)))
        )
    machines = []
    for name in names:
        cards: list[Card] = []
        for part in name.split("+"):
            m = _COUNT.fullmatch(part.strip())
            count, card = (int(m.group(1)), m.group(2)) if m else (1, part)
            if not card.strip():
                raise GpuwiseError(Message("infer.machine_empty", name=name))
            if not 1 <= count <= MAX_MACHINE_CARDS or len(cards) + count > MAX_MACHINE_CARDS:
                raise GpuwiseError(
                    Message("infer.machine_count", name=name, most=MAX_MACHINE_CARDS)
                )
            cards += [catalog.find(card.strip())] * count
        machines.append(cards)
    return machines
