"""The precision parts of the plan and recommend tables: the workload line, each card's
precision cell, and the notes that say why a card got its precision or why a chosen one is not
native on it. Read from the same JSON documents as the tables (``precision``,
``precision_given``, ``precision_note``, ``precision_warning``)."""

from __future__ import annotations

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

#: Marks a precision the card cannot run natively (said in the notes below the table).
NOT_NATIVE = "!"


def workload_text(w: dict[str, Any]) -> str:
    """``task train, batch 1, ...`` for a caption; a precision no one chose is "each card's
    own" (the cards' notes say which)."""
    parts = []
    for k, v in w.items():
        if k in ("tokens_per_step", "precision_given"):
            continue
        if k == "precision" and not w.get("precision_given", True):
            v = "each card's own (no --precision)"
        parts.append(f"{k.replace('_', ' ')} {v}")
    return ", ".join(parts)


def precision_cell(entry: dict[str, Any]) -> str:
    """A card's (or an option's) precision, marked when it is not native on the card."""
    if "precision" not in entry:
        return "—"
    return entry["precision"] + (NOT_NATIVE if entry.get("precision_warning") else "")


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
            names = groups.setdefault((e["precision"], e["precision_note"]), [])
            if name not in names:
                names.append(name)
        if e.get("precision_warning"):
            line = f"{NOT_NATIVE} {name}: {e['precision_warning']}"
            if line not in warnings:
                warnings.append(line)
    lines = [
        f"Precision {precision} on {_listed(names)}: {note}."
        for (precision, note), names in groups.items()
    ]
    return lines + warnings


def _listed(names: list[str], most: int = 6) -> str:
    if len(names) <= most:
        return ", ".join(names)
    return ", ".join(names[:most]) + f" and {len(names) - most} more"
