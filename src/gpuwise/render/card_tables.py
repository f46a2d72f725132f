"""Cards for people: ``gpuwise gpus`` (the catalogue as one table) and ``gpuwise gpu`` (one card,
every figure with its source). Tables read the same documents ``--json`` prints; every word is
the catalogue's (:func:`gpuwise.i18n.t`), in the language in use."""

from __future__ import annotations

from gpuwise.i18n import t
from gpuwise.render.table_kit import add_columns, table
from gpuwise.units import gib, num

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

    from rich.table import Table

#: Features the catalogue table names, in a few letters.
_SHORT_FEATURES = {
    "bf16": "bf16",
    "fp8": "fp8",
    "flash_attention_2": "FA2",
    "flash_attention_3": "FA3",
    "nvlink": "NVL",
}
#: Series that are words, not names: said in the user's language.
_SERIES = {
    "Data centre": "series.data_centre",
    "RTX workstation": "series.rtx_workstation",
    "User cards": "series.user",
}
_GPUS_COLUMNS = ("card", "cc", "gb", "bw", "fp32", "fp16", "bf16", "w", "price", "has")


def short_name(name: str) -> str:
    """A card's name without the brand words every row would repeat."""
    return name.removeprefix("GeForce ").removeprefix("NVIDIA ")


def gpus_table(doc: dict[str, Any]) -> Table:
    tbl = table(
        title=t("gpus.title", count=doc["count"], date=doc["catalog_date"]),
        caption=t("gpus.caption"),
    )
    rows = []
    for c in doc["cards"]:
        feats = " ".join(_SHORT_FEATURES[f] for f in c["features"] if f in _SHORT_FEATURES)
        rows.append(
            (
                short_name(c["name"]),
                c["compute_capability"],
                num(c["memory_gb"]),
                num(c["bandwidth_gb_s"], 0),
                num(c["fp32_tflops"]),
                num(c["fp16_tensor_tflops"], 0),
                num(c["bf16_tensor_tflops"], 0),
                num(c["tdp_w"]),
                num(c["launch_price_usd"]),
                feats,
            )
        )
    headers = [t(f"gpus.col.{k}") for k in _GPUS_COLUMNS]
    add_columns(tbl, headers, rows, text=(0, len(headers) - 1))
    for row in rows:
        tbl.add_row(*row)
    return tbl


#: One card's rows: (field, unit).
_CARD_ROWS = (
    ("series", None),
    ("architecture", None),
    ("chip", None),
    ("compute_capability", None),
    ("memory_gb", "GB"),
    ("memory_type", None),
    ("memory_bus_bits", "bit"),
    ("pytorch_total_memory_mib", "MiB"),
    ("bandwidth_gb_s", "GB/s"),
    ("fp32_tflops", "TFLOPS"),
    ("fp16_nontensor_tflops", "TFLOPS"),
    ("fp16_tensor_tflops", "TFLOPS"),
    ("bf16_tensor_tflops", "TFLOPS"),
    ("tf32_tensor_tflops", "TFLOPS"),
    ("fp8_tensor_tflops", "TFLOPS"),
    ("int8_tensor_tops", "TOPS"),
    ("tdp_w", "W"),
    ("pcie_gen", None),
    ("pcie_lanes", None),
    ("nvlink_gb_s", "GB/s"),
    ("launch_price_usd", "USD"),
    ("launch_price_cny", "CNY"),
    ("launch_date", None),
)


def card_table(doc: dict[str, Any]) -> Table:
    sources = doc.get("sources") or {}
    notes: list[dict[str, Any]] = []
    for key, _ in _CARD_ROWS:
        if key in sources and sources[key] not in notes:
            notes.append(sources[key])
    caption = "\n".join(
        f"[{i}] {s['title']}" + (f" <{s['url']}>" if s.get("url") else "")
        for i, s in enumerate(notes, 1)
    )
    tbl = table(
        title=t("gpu.title", name=doc["name"], date=doc["catalog_date"]),
        caption=caption,
        caption_justify="left",
    )
    tbl.add_column(t("gpu.col.field"))
    tbl.add_column(t("gpu.col.value"), justify="right")
    tbl.add_column(t("gpu.col.source"), justify="right")
    for key, unit in _CARD_ROWS:
        value = doc.get(key)
        shown = num(value, 2) if not isinstance(value, str) else value
        if key == "series" and value in _SERIES:
            shown = t(_SERIES[value])
        if value is not None and unit:
            shown = f"{shown} {unit}"
        src = sources.get(key)
        tbl.add_row(t(f"gpu.row.{key}"), shown, f"[{notes.index(src) + 1}]" if src else "")
    tbl.add_row(
        t("gpu.row.usable"),
        gib(doc["usable_memory_bytes"]),
        t("gpu.usable.measured" if doc["usable_memory_measured"] else "gpu.usable.estimated"),
    )
    features = ", ".join(t(f"feature.{f}") for f in doc["features"])
    tbl.add_row(t("gpu.row.features"), features or t("gpu.no_features"), "")
    return tbl
