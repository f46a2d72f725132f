"""What an explanation is made of: steps, each a title, an idea and lines of figures with the
formula that gives them. Every text is a :class:`~gpuwise.i18n.Message`, said in the language
in use when it is shown."""

from __future__ import annotations

from gpuwise.i18n import Message
from gpuwise.record import record

#: The units a line's value is in (the JSON ``unit``): a count of parameters, bytes, FLOPs,
#: FLOP/s, seconds, tokens per second, a fraction (an efficiency), kWh, or a yes/no.
UNITS = ("params", "bytes", "flops", "flop_s", "s", "tokens_s", "fraction", "kwh", "bool")


@record
class Line:
    """One figure: ``key`` (a stable id: the JSON's), what it is (``label``), how it is made,
    with this model's numbers (``formula``, None when it is read as it is), its ``value`` in
    ``unit`` (None when it cannot be known, such as a rate the catalogue lacks)."""

    key: str
    label: Message
    formula: Message | None
    value: int | float | bool | None
    unit: str


@record
class Step:
    """One step of the walk: ``id`` (stable), its ``title``, the ``idea`` in a sentence or two,
    its ``lines`` and what else a beginner should know (``notes``)."""

    id: str
    title: Message
    idea: Message
    lines: tuple[Line, ...]
    notes: tuple[Message, ...] = ()


def line(
    key: str,
    label: str,
    value: int | float | bool | None,
    unit: str,
    formula: Message | None = None,
    **label_params: object,
) -> Line:
    """A :class:`Line` whose label is the message ``label`` (with ``label_params``)."""
    assert unit in UNITS, unit
    return Line(key, Message(label, **label_params), formula, value, unit)


def n(value: float) -> str:
    """A whole figure for a formula: ``8,030,261,248``."""
    return f"{round(value):,}"


def per(value: float) -> str:
    """A small ratio for a formula, as short as it is exact to 2 decimals: ``2``, ``0.56``."""
    text = f"{value:,.2f}"
    return text.rstrip("0").rstrip(".") if "." in text else text


def sci(value: float) -> str:
    """A large figure in powers of ten: ``4.82 × 10^10``."""
    if value == 0:
        return "0"
    mantissa, exponent = f"{value:.2e}".split("e")
    return f"{mantissa} × 10^{int(exponent)}"
