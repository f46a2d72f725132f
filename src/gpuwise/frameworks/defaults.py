"""A framework's defaults (``data/frameworks.json``, each read from its source) applied to a
workload: a default sets its workload field unless the user gave that field's flag, and each
one applied, and each one the plan does not model, is said as a note.
"""

from __future__ import annotations

from gpuwise.errors import GpuwiseError
from gpuwise.frameworks import FRAMEWORKS, REFERENCE
from gpuwise.i18n import Message
from gpuwise.models.lora import lora_target_names
from gpuwise.models.spec import ModelSpec
from gpuwise.packaged import packaged_json
from gpuwise.record import record, replace
from gpuwise.workload import Workload

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any


#: The note of each default the plan applies, by the data file's key.
APPLIED = {
    "grad_checkpointing": "frameworks.applied.grad_checkpointing",
    "ckpt_offload": "frameworks.applied.ckpt_offload",
    "loss": "frameworks.applied.loss",
    "optimizer": "frameworks.applied.optimizer",
    "paged_adamw_8bit": "frameworks.applied.optimizer",
    "lora_rank": "frameworks.applied.lora_rank",
    "lora_targets": "frameworks.applied.lora_targets",
    "no_upcast": "frameworks.applied.no_upcast",
    "optimizer_in_bwd": "frameworks.applied.optimizer_in_bwd",
    "fp32_master": "frameworks.applied.fp32_master",
}
#: The note of each default the plan does not model, by the data file's key.
NOT_APPLIED = {
    "loss_chunks": "frameworks.not_applied.loss_chunks",
    "bf16_adapters": "frameworks.not_applied.bf16_adapters",
    "lora_kernels": "frameworks.not_applied.lora_kernels",
}


@record
class Default:
    """One default of a framework: the workload ``field`` it sets to ``value``, the ``flag``
    that overrides it, the ``methods`` it holds for, and where it was read (``file``)."""

    key: str
    field: str
    value: Any
    flag: str
    methods: tuple[str, ...]
    file: str


@record
class Applied:
    """What ``--framework`` did to a plan: the ``framework``, the ``notes`` (one per default
    applied, overridden or not modelled) and, for ``--json``, the defaults ``applied`` (key ->
    value, by workload field), those the user's flags ``overridden`` and those ``not_applied``
    (by the data file's keys)."""

    framework: str
    name: str
    version: str
    notes: tuple[Message, ...] = ()
    applied: tuple[tuple[str, Any], ...] = ()
    overridden: tuple[str, ...] = ()
    not_applied: tuple[str, ...] = ()


def _data() -> dict[str, Any]:
    frameworks: dict[str, Any] = packaged_json("gpuwise.frameworks", "data/frameworks.json")[
        "frameworks"
    ]
    return frameworks


def framework_info(name: str) -> dict[str, Any]:
    """The data file's entry of ``name`` (refused in one line when it is no framework)."""
    if name not in FRAMEWORKS:
        raise GpuwiseError(
            Message("frameworks.unknown", value=repr(name), allowed=", ".join(FRAMEWORKS)),
        )
    info: dict[str, Any] = _data()[name]
    return info


def defaults(name: str, method: str) -> list[Default]:
    """The defaults of framework ``name`` that hold for ``method``, in the data file's order."""
    out = []
    for d in framework_info(name)["defaults"]:
        methods = tuple(d.get("methods", ("full", "lora", "qlora")))
        if method not in methods:
            continue
        value = tuple(d["value"]) if isinstance(d["value"], list) else d["value"]
        out.append(Default(d["key"], d["field"], value, d["flag"], methods, d["file"]))
    return out


def check_supported(name: str, w: Workload, spec: ModelSpec) -> None:
    """Refuse, in one line, a method the framework cannot train or a model family it has no
    builder for (torchtune's QLoRA exists for some families only)."""
    info = framework_info(name)
    if spec.kind != "decoder":  # each trains causal LMs (SFT); BERT's masked LM is the reference's
        raise GpuwiseError(
            Message("frameworks.decoder_only", framework=info["name"], model=spec.name)
        )
    if w.method not in info["methods"]:
        raise GpuwiseError(
            Message(
                "frameworks.method",
                framework=info["name"],
                method=w.method,
                allowed=", ".join(info["methods"]),
            ),
        )
    families = info.get("model_types", {}).get(w.method)
    if families is not None and spec.model_type not in families:
        raise GpuwiseError(
            Message(
                "frameworks.model_type",
                framework=info["name"],
                method=w.method,
                model_type=spec.model_type,
                allowed=", ".join(families),
            ),
        )


def apply_framework(
    name: str, w: Workload, spec: ModelSpec, given: frozenset[str] = frozenset()
) -> tuple[Workload, Applied]:
    """``w`` with framework ``name``'s defaults for its method, but for the fields in ``given``
    (those the user set by a flag), and what was done. The reference (``transformers``)
    returns it unchanged; another framework refuses an inference workload."""
    if name == REFERENCE:  # the plain plan reads no framework data
        return w, Applied(name, "transformers + peft", "")
    info = framework_info(name)
    if w.task != "train":
        raise GpuwiseError(
            Message("frameworks.train_only", framework=info["name"], task=w.task),
        )
    check_supported(name, w, spec)
    changes: dict[str, Any] = {}
    notes: list[Message] = []
    applied: list[tuple[str, Any]] = []
    overridden: list[str] = []
    for d in defaults(name, w.method):
        if d.field in given:
            overridden.append(d.key)
            note = Message("frameworks.overridden", framework=info["name"], flag=d.flag)
            if note not in notes:  # one flag may override two defaults (checkpointing)
                notes.append(note)
            continue
        if d.field == "lora_targets" and not set(d.value) <= set(lora_target_names(spec)):
            notes.append(
                Message(
                    "frameworks.targets_kept",
                    framework=info["name"],
                    targets=", ".join(d.value),
                    model_type=spec.model_type,
                )
            )
            continue
        if d.field == "ckpt_offload" and not changes.get(
            "grad_checkpointing", w.grad_checkpointing
        ):
            continue  # offload needs checkpointing, which the user turned off
        if getattr(w, d.field) == d.value:
            continue  # the reference step does this already
        changes[d.field] = d.value
        applied.append((d.field, d.value))
        notes.append(_applied_note(d, info["name"]))
    not_applied = []
    for n in info["not_applied"]:
        if w.method in n.get("methods", ("full", "lora", "qlora")):
            not_applied.append(n["key"])
            notes.append(Message(NOT_APPLIED[n["key"]], framework=info["name"]))
    return w.with_(**changes), Applied(
        name,
        info["name"],
        info["version"],
        tuple(notes),
        tuple(applied),
        tuple(overridden),
        tuple(not_applied),
    )


def without_in_bwd(w: Workload, a: Applied) -> tuple[Workload, Applied]:
    """``w`` and ``a`` with the framework's ``optimizer_in_bwd`` turned off, and said: a step
    accumulated over micro-batches keeps its gradients (torchtune refuses the two together)."""
    key = APPLIED["optimizer_in_bwd"]
    notes = [n for n in a.notes if n.key != key]
    notes.append(Message("frameworks.in_bwd_off", framework=a.name))
    applied = tuple((f, v) for f, v in a.applied if f != "optimizer_in_bwd")
    return w.with_(optimizer_in_bwd=False), replace(a, notes=tuple(notes), applied=applied)


def _applied_note(d: Default, framework: str) -> Message:
    value = ", ".join(d.value) if isinstance(d.value, tuple) else d.value
    return Message(APPLIED[d.key], framework=framework, value=str(value), flag=d.flag)


def applied_dict(a: Applied) -> dict[str, Any]:
    """``plan --json``'s ``framework``: what the framework changed and what it left out."""
    return {
        "name": a.framework,
        "label": a.name,
        "version": a.version,
        "applied": {field: list(v) if isinstance(v, tuple) else v for field, v in a.applied},
        "overridden": list(a.overridden),
        "not_applied": list(a.not_applied),
    }


def framework_notes(a: Applied) -> list[Message]:
    """The plan's notes of ``--framework``: which, then each default applied or left out."""
    return [Message("frameworks.table.framework", name=a.name, version=a.version), *a.notes]
