"""The precision parts of the plan and recommend tables: the workload line, each card's
precision cell, and the notes that say why a card got its precision or why a chosen one is not
native on it. Read from the same JSON documents as the tables (``precision``,
``precision_given``, ``precision_note``, ``precision_warning``); every word is the catalogue's,
in the language in use."""

from __future__ import annotations

from gpuwise.i18n import t

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

#: Marks a precision the card cannot run natively (said in the notes below the table).
NOT_NATIVE = "!"

#: The workload's fields as the caption names them (a field added since is named by its key).
WORKLOAD_LABELS = {
    "task": "plan.field.task",
    "batch": "plan.field.batch",
    "seq": "plan.field.seq",
    "method": "plan.field.method",
    "precision": "plan.field.precision",
    "grad_checkpointing": "plan.field.grad_checkpointing",
    "optimizer": "plan.field.optimizer",
    "lora_rank": "plan.field.lora_rank",
    "lora_targets": "plan.field.lora_targets",
    "weight_dtype": "plan.field.weight_dtype",
    "kv_dtype": "plan.field.kv_dtype",
    "loss": "tricks.field.loss",
    "ckpt_offload": "tricks.field.ckpt_offload",
    "upcast": "tricks.field.upcast",
    "packing": "tricks.field.packing",
}
#: The memory tricks' fields, said only when a trick is on (their defaults are the reference).
TRICK_DEFAULTS = {"loss": "full", "ckpt_offload": False, "upcast": True, "packing": False}
#: Values that are words, not names: (field, value) -> key.
WORKLOAD_WORDS = {
    ("task", "train"): "plan.value.train",
    ("task", "infer"): "plan.value.infer",
    ("method", "full"): "plan.value.full",
    ("loss", "chunked"): "tricks.value.chunked",
    ("loss", "fused"): "tricks.value.fused",
}
#: Precisions as a cell says them (the mixed ones in words).
PRECISION_LABELS = {
    "amp-bf16": "plan.precision.label.amp_bf16",
    "amp-fp16": "plan.precision.label.amp_fp16",
}


def workload_text(w: dict[str, Any]) -> str:
    """``task train, batch 1, ...`` for a caption; a precision no one chose is "each card's
    own" (the cards' notes say which)."""
    parts = []
    for k, v in w.items():
        if k in ("tokens_per_step", "precision_given", "tricks") or TRICK_DEFAULTS.get(k, ...) == v:
            continue
        label = t(WORKLOAD_LABELS[k]) if k in WORKLOAD_LABELS else k.replace("_", " ")
        if k == "precision" and not w.get("precision_given", True):
            value = t("plan.value.each_cards_own")
        elif isinstance(v, bool):  # a switch (gradient checkpointing): on or off
            value = t("plan.value.true" if v else "plan.value.false")
        elif isinstance(v, list):  # LoRA's target modules: names, peft's all-linear in words
            value = "/".join(t("plan.value.all_linear") if x == "all-linear" else str(x) for x in v)
        elif isinstance(v, str) and (k, v) in WORKLOAD_WORDS:
            value = t(WORKLOAD_WORDS[(k, v)])
        elif k == "precision" and v in PRECISION_LABELS:
            value = t(PRECISION_LABELS[v])
        else:
            value = str(v)
        parts.append(t("plan.field.pair", label=label, value=value))
    return t("plan.list_sep").join(parts)


def precision_label(precision: str) -> str:
    """A precision as people read it: the mixed ones in words."""
    return t(PRECISION_LABELS[precision]) if precision in PRECISION_LABELS else precision


def precision_cell(entry: dict[str, Any]) -> str:
    """A card's (or an option's) precision, marked when it is not native on the card."""
    if "precision" not in entry:
        return "—"
    return precision_label(entry["precision"]) + (
        NOT_NATIVE if entry.get("precision_warning") else ""
    )


def precision_notes(entries: list[dict[str, Any]], name_key: str) -> list[str]:
    """Caption lines: for precisions the cards chose, which cards got which and why (one line
    per precision and reason); for chosen ones a card cannot run natively, the warning."""
    groups: dict[tuple[str, str], list[str]] = {}
    warnings: list[str] = []
    for e in entries:
        if "precision" not in e:
            continue
        name = e[name_key].removeprefix("GeForce ").removeprefix("NVIDIA ")
        if not e["precision_given"]:
            names = groups.setdefault((e["precision"], str(e["precision_note"])), [])
            if name not in names:
                names.append(name)
        if e.get("precision_warning"):
            line = t(
                "plan.precision.warning_line",
                mark=NOT_NATIVE,
                card=name,
                warning=str(e["precision_warning"]),
            )
            if line not in warnings:
                warnings.append(line)
    lines = [
        t(
            "plan.precision.chosen_line",
            precision=precision_label(precision),
            cards=_listed(names),
            note=note,
        )
        for (precision, note), names in groups.items()
    ]
    return lines + warnings


def _listed(names: list[str], most: int = 6) -> str:
    if len(names) <= most:
        return t("plan.list_sep").join(names)
    shown = t("plan.list_sep").join(names[:most])
    return t("plan.and_more", names=shown, count=len(names) - most)
