"""Lines of ``gpuwise doctor``'s human output for one card, beside its PyTorch install: the
range of PyTorch / CUDA / driver that works, and the TensorFlow and JAX install commands."""

from __future__ import annotations

from gpuwise.i18n import t

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

_NAMES = {"tensorflow": "TensorFlow", "jax": "JAX"}


def card_lines(card: dict[str, Any]) -> list[str]:
    """The support range and one line per framework (from the card's JSON)."""
    out: list[str] = []
    s = card.get("support")
    if s and s["torch_oldest"]:
        out.append(t("doctor.text.works_on", name=card["name"], **s))
    for name, f in (card.get("frameworks") or {}).items():
        label = _NAMES.get(name, name)
        inst = f["install"]
        seen = t("doctor.text.seen", version=f["version"]) if f["version"] else ""
        span = t("doctor.text.span", oldest=f["oldest"], newest=f["newest"]) if f["oldest"] else ""
        if inst["command"]:
            out.append(
                t(
                    "doctor.text.framework",
                    label=label,
                    seen=seen,
                    command=inst["command"],
                    note=inst["note"],
                    span=span,
                )
            )
        else:
            out.append(t("doctor.text.framework_none", label=label, seen=seen, note=inst["note"]))
    return out
