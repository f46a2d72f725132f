"""The precision each card is planned in: its own default when the user gives none, else the one
asked for, flagged where the card cannot run it natively.

The rules are data (``data/precision.json``, each with its sources): the first rule whose
features the card has gives its default for training (``--method full`` / ``lora``), QLoRA
(which computes in bf16 or fp16 only) and inference. Cards alike in what the rules read share
one answer, so a search over thousands of cards resolves a few dozen.
"""

from __future__ import annotations

import functools

from gpuwise.catalog import Card
from gpuwise.i18n import Message
from gpuwise.packaged import packaged_json
from gpuwise.record import record
from gpuwise.workload import Workload

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

    from gpuwise.workload import Precision


@record
class CardPrecision:
    """The precision of one card's plan: ``precision``, whether the user ``given`` it,
    ``note`` (why this one) and ``warning`` (a given precision the card cannot run natively:
    planned as asked, and said; None otherwise)."""

    precision: Precision
    given: bool
    note: Message
    warning: Message | None = None


#: The note of each default rule of data/precision.json (by what it needs; "without_card":
#: the rule for no card): its English is the rule's "note" (a test holds them equal).
DEFAULT_NOTES = {
    ("bf16",): "plan.precision.default_bf16",
    ("tensor_cores",): "plan.precision.default_tensor_cores",
    (): "plan.precision.default_fp32",
    "without_card": "plan.precision.default_without_card",
}
#: Why a card cannot run a compute dtype natively, by dtype: the English is the "native"
#: rule's "why" in data/precision.json.
NATIVE_WHY = {"bf16": "plan.precision.why_bf16", "fp16": "plan.precision.why_fp16"}


#: The mixed precision of a pure 16-bit one, for a workload that keeps fp32 trainable weights
#: (``Workload.master_fp32``: LLaMA-Factory's full fine-tune without ``pure_bf16``).
AMP_OF: dict[str, Precision] = {"bf16": "amp-bf16", "fp16": "amp-fp16"}


def for_card(w: Workload, card: Card | None) -> tuple[Workload, CardPrecision]:
    """``w`` as ``card`` runs it (its precision resolved; ``precision_given`` then True, so
    that cards alike share their memory and time), and what was chosen and why. ``card`` None:
    no card to choose for (``probe --simulate``), the ``without_card`` rule."""
    if card is None:
        return _resolve(w, None, None, None)
    return _resolve(w, card.features, card.architecture, card.compute_capability)


def card_workload(w: Workload, card: Card | None) -> Workload:
    """``w`` with the precision ``card`` is planned in."""
    return for_card(w, card)[0]


def default_precision(w: Workload, card: Card | None) -> Precision:
    """The precision ``card`` gets for ``w``'s task and method when the user gives none."""
    return _default(w, card.features if card is not None else None)[0]


@functools.lru_cache(maxsize=1024)
def _resolve(
    w: Workload, features: tuple[str, ...] | None, arch: str | None, cc: str | None
) -> tuple[Workload, CardPrecision]:
    default, note = _default(w, features)
    asked = _asked(w)
    if asked is None:
        chosen, warning = default, None
    else:
        flag, chosen = asked
        note = Message("plan.precision.as_asked", flag=flag, precision=chosen)
        why = None if features is None else _not_native(chosen, features)
        warning = None
        if why is not None:
            warning = Message(
                "plan.precision.not_native",
                flag=flag,
                precision=chosen,
                arch=arch,
                cc=cc,
                why=why,
                default=default,
            )
    resolved = w.with_(precision=chosen, precision_given=True)
    return resolved, CardPrecision(chosen, asked is not None, note, warning)


def _asked(w: Workload) -> tuple[str, Precision] | None:
    """(flag, precision) the user chose, or None when the card is to choose. For inference an
    explicit 16- or 32-bit ``--weight-dtype`` chooses: the model computes in it."""
    if w.precision_given:
        return "--precision", w.precision
    dtype = w.weight_dtype if w.task == "infer" else None
    if dtype == "bf16" or dtype == "fp16" or dtype == "fp32":
        return "--weight-dtype", dtype
    return None


def _default(w: Workload, features: tuple[str, ...] | None) -> tuple[Precision, Message]:
    """(precision, note) of the first rule ``features`` meet, for ``w``'s task and method."""
    data = _rules()
    key = "infer" if w.task == "infer" else "qlora" if w.method == "qlora" else "train"
    if features is None:
        rule, note = data["without_card"], DEFAULT_NOTES["without_card"]
    else:
        rule = next(r for r in data["defaults"] if all(f in features for f in r["needs"]))
        note = DEFAULT_NOTES[tuple(rule["needs"])]
    precision: Precision = rule[key]
    if w.master_fp32 and key == "train" and w.method == "full":
        precision = AMP_OF.get(precision, precision)  # fp32 weights, 16-bit compute
    return precision, Message(note)


def _not_native(precision: Precision, features: tuple[str, ...]) -> Message | None:
    """Why a card cannot run ``precision``'s compute dtype natively, or None when it can."""
    compute = Workload(precision=precision).compute_dtype
    rule = _rules()["native"].get(compute)
    if rule is None or rule["needs"] in features:
        return None
    return Message(NATIVE_WHY[compute])


def _rules() -> dict[str, Any]:
    data: dict[str, Any] = packaged_json("gpuwise.plan", "data/precision.json")
    return data
