"""``recommend --task infer`` with llama.cpp / Ollama: the engine flags it takes (``plan``'s:
:mod:`gpuwise.cli.engine_flags`), the cards and machines of ``--gpu`` (``4090+3090``,
``2x3090``), and what its document adds to recommend's."""

from __future__ import annotations

import argparse

from gpuwise.cli.engine_flags import engine_from, is_machine, machines_from
from gpuwise.cli.workload_flags import card_names
from gpuwise.errors import GpuwiseError
from gpuwise.i18n import Message
from gpuwise.models.spec import ModelSpec

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

    from gpuwise.catalog import Card, Catalog
    from gpuwise.infer.engine import EngineSettings
    from gpuwise.recommend.options import Recommendation


def llama_engine(args: argparse.Namespace, spec: ModelSpec) -> EngineSettings | None:
    """llama.cpp's settings when the flags ask for it (a GGUF ``--weight-dtype``, ``--engine
    llama.cpp|ollama``), None for transformers; vLLM and what llama.cpp does not plan here
    (``--emit``, ``--grad-accum``) are one line."""
    from gpuwise.infer.engine import EngineSettings

    engine = engine_from(args, spec)
    if engine is None:
        return None
    if not isinstance(engine, EngineSettings):  # vLLM
        raise GpuwiseError(Message("infer.rec.engine", engine=engine.engine))
    if getattr(args, "emit", None):
        raise GpuwiseError(Message("infer.rec.no_emit"))
    if args.grad_accum != 1:
        raise GpuwiseError(Message("recommend.grad_accum_infer"))
    return engine


def llama_cards(
    args: argparse.Namespace, catalog: Catalog, engine: EngineSettings
) -> tuple[list[Card], list[list[Card]]]:
    """The cards tried on 1..--max-gpus of each (every card, or the ``--gpu`` ones, within
    ``--series``) and the machines ``--gpu`` names (``4090+3090``, ``2x3090``), each tried as
    it is."""
    from gpuwise.catalog import of_series

    names = card_names(args.gpu)
    singles = [n for n in names if not is_machine(n)]
    machines = machines_from([n for n in names if is_machine(n)], catalog, engine) or []
    cards = [catalog.find(n) for n in singles] if names else list(catalog)
    if args.series:
        cards = of_series(cards, args.series)
    return cards, machines


def add_llama_keys(
    doc: dict[str, Any], rec: Recommendation, engine: EngineSettings, top: int
) -> None:
    """recommend's document with llama.cpp's: the ``engine`` object (as ``plan --json`` has it)
    and, on each option, the machine, each card's memory and layers, the offload, decode and
    prefill speed (:func:`gpuwise.recommend.llama.option_keys`)."""
    from gpuwise.infer.card import engine_dict
    from gpuwise.recommend.llama import option_keys

    ranked = rec.options if top <= 0 else rec.options[:top]
    for shown, option in zip(doc["options"], ranked, strict=True):
        shown.update(option_keys(option))
    doc["engine"] = engine_dict(engine)
