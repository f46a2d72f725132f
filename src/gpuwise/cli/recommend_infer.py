"""``recommend --task infer`` with llama.cpp / Ollama or vLLM: the engine flags it takes
(``plan``'s: :mod:`gpuwise.cli.engine_flags`, :mod:`gpuwise.cli.vllm_flags`), the cards and
machines of ``--gpu`` (``4090+3090``, ``2x3090``; vLLM takes one kind of card a machine), and
what its document adds to recommend's."""

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
    from gpuwise.infer.vllm import VllmSettings
    from gpuwise.recommend.options import Recommendation
    from gpuwise.recommend.prices import PriceBook
    from gpuwise.workload import Workload


def llama_engine(args: argparse.Namespace, spec: ModelSpec) -> EngineSettings | VllmSettings | None:
    """The engine's settings when the flags ask for one (a GGUF ``--weight-dtype``, ``--engine
    llama.cpp|ollama|vllm``), None for transformers; what these engines do not plan here
    (``--emit``, ``--grad-accum``) is one line."""
    engine = engine_from(args, spec)
    if engine is None:
        return None
    if getattr(args, "emit", None):
        vllm = engine.engine == "vllm"
        raise GpuwiseError(Message("vllm_rec.no_emit" if vllm else "infer.rec.no_emit"))
    if args.grad_accum != 1:
        raise GpuwiseError(Message("recommend.grad_accum_infer"))
    return engine


def llama_cards(
    args: argparse.Namespace, catalog: Catalog, engine: EngineSettings | VllmSettings
) -> tuple[list[Card], list[list[Card]]]:
    """The cards tried on 1..--max-gpus of each (every card, or the ``--gpu`` ones, within
    ``--series``) and the machines ``--gpu`` names (``4090+3090``, ``2x3090``), each tried as
    it is; vLLM's tensor parallel takes one kind of card a machine, in a count it can split
    the model over."""
    from gpuwise.catalog import of_series

    names = card_names(args.gpu)
    singles = [n for n in names if not is_machine(n)]
    named = [n for n in names if is_machine(n)]
    machines = machines_from(named, catalog, engine) or []  # type: ignore[arg-type]
    if engine.engine == "vllm":
        _check_vllm_machines(named, machines)
    cards = [catalog.find(n) for n in singles] if names else list(catalog)
    if args.series:
        cards = of_series(cards, args.series)
    return cards, machines


def _check_vllm_machines(names: list[str], machines: list[list[Card]]) -> None:
    """A vLLM machine is N of one card (tensor parallel runs each rank alike)."""
    for name, machine in zip(names, machines, strict=True):
        if len({c.name for c in machine}) > 1:
            raise GpuwiseError(Message("vllm_rec.mixed_machine", name=name))


def check_vllm_machines(spec: ModelSpec, machines: list[list[Card]]) -> None:
    """Each named machine's card count is a tensor-parallel size vLLM takes for ``spec``."""
    from gpuwise.infer.vllm import tensor_parallel_ok

    for machine in machines:
        if not tensor_parallel_ok(spec, len(machine)):
            sizes = ", ".join(str(n) for n in range(1, 65) if tensor_parallel_ok(spec, n))
            raise GpuwiseError(
                Message(
                    "vllm_rec.machine_tp",
                    count=len(machine),
                    card=machine[0].name,
                    model=spec.name,
                    heads=spec.num_attention_heads,
                    kv=spec.num_kv_heads,
                    sizes=sizes,
                )
            )


def vllm_doc(
    args: argparse.Namespace,
    catalog_date: str,
    spec: ModelSpec,
    workload: Workload,
    engine: VllmSettings,
    cards: list[Card],
    machines: list[list[Card]],
    constraints: Any,
    book: PriceBook,
    tokens: int | None,
    have: Card | None,
) -> dict[str, Any]:
    """recommend's document for vLLM (:mod:`gpuwise.recommend.vllm_rec`): recommend's keys,
    the ``engine`` object as ``plan --json`` has it, each option's serving figures, and the
    advice (``advice.engine`` "vllm") when there is one."""
    from gpuwise.infer.vllm_card import engine_dict
    from gpuwise.recommend.vllm_rec import option_keys, vllm_recommend
    from gpuwise.render.infer_json import recommend_engine_keys
    from gpuwise.render.plan_json import recommend_doc

    if constraints.deadline_s is not None and tokens is None:
        raise GpuwiseError(Message("recommend.deadline_needs_tokens"))
    check_vllm_machines(spec, machines)
    rec, advice = vllm_recommend(
        spec, workload, engine, cards, machines, constraints, book, args.objective, tokens, have
    )
    top = int(args.top)
    doc = recommend_doc(rec, catalog_date, top)
    ranked = rec.options if top <= 0 else rec.options[:top]
    for shown, option in zip(doc["options"], ranked, strict=True):
        shown.update(option_keys(option))
    doc["engine"] = engine_dict(engine)
    doc["advice"] = advice
    doc["emitted"] = []
    recommend_engine_keys(doc)
    return doc


def add_llama_keys(
    doc: dict[str, Any], rec: Recommendation, engine: EngineSettings, top: int
) -> None:
    """recommend's document with llama.cpp's: the ``engine`` object (as ``plan --json`` has it)
    and, on each option, the machine, each card's memory and layers, the offload, decode and
    prefill speed (:func:`gpuwise.recommend.llama.option_keys`)."""
    from gpuwise.infer.card import engine_dict
    from gpuwise.recommend.llama import option_keys
    from gpuwise.render.infer_json import recommend_engine_keys

    ranked = rec.options if top <= 0 else rec.options[:top]
    for shown, option in zip(doc["options"], ranked, strict=True):
        shown.update(option_keys(option))
    doc["engine"] = engine_dict(engine)
    recommend_engine_keys(doc)
