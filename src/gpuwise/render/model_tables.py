"""A model for people (``gpuwise model``): its shapes and exact count, parameters by part, and
its weights in each dtype. Reads the document ``--json`` prints; every word is the catalogue's,
in the language in use."""

from __future__ import annotations

from gpuwise.i18n import t
from gpuwise.models.weight_types import TABLE_TYPES
from gpuwise.render.table_kit import table
from gpuwise.units import count, gib

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

    from rich.table import Table


def _value(key: str, value: Any) -> str:
    """A shape's value: words (yes / no, gated / plain) in the user's language; names and
    numbers as they are."""
    if isinstance(value, bool):
        return t("model.value.true" if value else "model.value.false")
    if key == "mlp":
        return t(f"model.value.mlp.{value}")
    return str(value)


def model_tables(doc: dict[str, Any]) -> list[Table]:
    s = doc["shapes"]
    head = table(
        title=t("model.title", name=doc["name"], model_type=doc["model_type"], source=doc["source"])
    )
    if doc["assumptions"]:
        head.caption = "\n".join(str(a) for a in doc["assumptions"])
        head.caption_justify = "left"
    head.add_column(t("model.col.shape"))
    head.add_column(t("model.col.value"), justify="right")
    rows = [(t("model.row.params"), f"{doc['params']:,} ({count(doc['params'])})")]
    if doc["active_params"] != doc["params"]:
        rows.append(
            (t("model.row.active"), f"{doc['active_params']:,} ({count(doc['active_params'])})")
        )
    if doc["trained_params"] != doc["params"]:
        rows.append((t("model.row.trained"), f"{doc['trained_params']:,}"))
    rows += [(t(f"model.shape.{k}"), _value(k, v)) for k, v in s.items() if v not in (None, 0, "")]
    rows.append((t("model.row.counted_by"), str(doc["counted_by"])))
    for k, v in rows:
        head.add_row(k, v)

    parts = table(title=t("model.parts.title"))
    parts.add_column(t("model.parts.col.part"))
    parts.add_column(t("model.parts.col.params"), justify="right")
    parts.add_column(t("model.parts.col.share"), justify="right")
    for part, n in doc["params_by_part"].items():
        parts.add_row(t(f"model.part.{part}"), f"{n:,}", f"{100 * n / doc['params']:.1f} %")

    weights = table(title=t("model.weights.title"), caption=t("model.weights.caption"))
    weights.add_column(t("model.weights.col.dtype"))
    weights.add_column(t("model.weights.col.bytes"), justify="right")
    weights.add_column(t("model.weights.col.gib"), justify="right")
    gguf = doc.get("gguf")
    if gguf:
        n = gguf["weights_bytes"]
        weights.add_row(t("model.weights.this_file", file_type=gguf["file_type"]), f"{n:,}", gib(n))
    for dtype in SHOWN:
        n = doc["weights_bytes"][dtype]
        weights.add_row(dtype, f"{n:,}", gib(n))
    return [head, parts, weights]


#: The weight types the table shows (``--json`` lists every one): transformers' dtypes and
#: bitsandbytes, then the GGUF types people download most, and AWQ.
SHOWN = ("fp32", "bf16", "fp16", "int8", "nf4", *TABLE_TYPES)
