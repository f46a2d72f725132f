"""Lines of ``gpuwise doctor``'s human output for one card, beside its PyTorch install: the
range of PyTorch / CUDA / driver that works, and the TensorFlow and JAX install commands."""

from __future__ import annotations

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

_NAMES = {"tensorflow": "TensorFlow", "jax": "JAX"}


def card_lines(card: dict[str, Any]) -> list[str]:
    """The support range and one line per framework (from the card's JSON)."""
    out: list[str] = []
    s = card.get("support")
    if s and s["torch_oldest"]:
        out.append(
            f"Works on {card['name']}: torch {s['torch_oldest']}-{s['torch_newest']}, "
            f"CUDA {s['cuda_oldest']}-{s['cuda_newest']}; driver >= {s['driver_oldest']} "
            f"for the oldest build, >= {s['driver_newest']} for the newest "
            f"(gpuwise's table: torch {s['table']})"
        )
    for name, f in (card.get("frameworks") or {}).items():
        label = _NAMES.get(name, name)
        inst = f["install"]
        seen = f" (installed or given: {f['version']})" if f["version"] else ""
        span = f"; {f['oldest']}-{f['newest']} run on this card" if f["oldest"] else ""
        if inst["command"]:
            out.append(f"{label}{seen}: {inst['command']}\n  ({inst['note']}{span})")
        else:
            out.append(f"{label}{seen}: no build for this card: {inst['note']}")
    return out
