"""``gpuwise doctor`` for people: the machine (a block to paste into bug reports), then each
card's problems, advice and install commands. Tables read the document ``--json`` prints; every
word is the catalogue's (:func:`gpuwise.i18n.t`), in the language in use."""

from __future__ import annotations

from gpuwise.i18n import t
from gpuwise.render.doctor_text import card_lines
from gpuwise.render.table_kit import styled, table

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

    from rich.text import Text

#: Each severity's label and colour.
_SEVERITY = {
    "error": ("doctor.severity.error", "red"),
    "warning": ("doctor.severity.warning", "yellow"),
    "info": ("doctor.severity.info", ""),
}
_MODE = {"detected": "doctor.mode.detected", "described": "doctor.mode.described"}


def _severity(severity: str) -> Text:
    key, style = _SEVERITY.get(severity, ("", ""))
    return styled(t(key) if key else severity, style)


def doctor_tables(doc: dict[str, Any]) -> list[Any]:
    """The machine, the machine's own problems, then a table and install lines per card; a
    plain statement of what was checked when no NVIDIA GPU was found."""
    out: list[Any] = [_machine(doc)]
    for p in doc["problems"]:
        if p["code"] == "no_nvidia_gpu":
            continue  # said in full below
        out.append(_severity(p["severity"]) + styled(f" {p['code']}: {p['message']}", ""))
    if not doc["cards"]:
        out.append(_no_gpu(doc))
    for c in doc["cards"]:
        out.append(_card(c))
        inst = c["install"] or {}
        if inst.get("command"):
            out.append(
                t("doctor.text.install", name=c["name"], command=inst["command"], note=inst["note"])
            )
        elif inst.get("note"):
            out.append(t("doctor.text.no_wheel", name=c["name"], note=inst["note"]))
        out += card_lines(c)
    whole = doc["install"] or {}
    if doc["cards"] and len(doc["cards"]) > 1 and whole.get("command"):
        out.append(t("doctor.text.install_all", command=whole["command"]))
    return out


def _machine(doc: dict[str, Any]) -> Any:
    s = doc["system"]
    torch = s["torch"]
    detected = doc["mode"] == "detected"
    mode = t(_MODE[doc["mode"]]) if doc["mode"] in _MODE else doc["mode"]
    machine = table(
        title=t("doctor.title", mode=mode, date=doc["kb_date"]),
        caption=t("doctor.caption"),
        show_header=False,
    )
    machine.add_column(t("doctor.col.what"))
    machine.add_column(t("doctor.col.found"), overflow="fold")
    rows = [
        (t("doctor.row.os"), s["os_detail"] if detected else s["os"]),
        (t("doctor.row.python"), s["python"]),
        (t("doctor.row.driver"), s["driver"] or t("doctor.value.not_found")),
        (t("doctor.row.gpu_source"), s["gpu_source"] or t("doctor.value.nothing")),
        (t("doctor.row.nvcc"), s["nvcc"] or "—"),
    ]
    if torch is None:
        missing = "doctor.value.not_installed" if detected else "doctor.value.not_given"
        rows.append(("torch", t(missing)))
    else:
        cuda = torch["cuda"] or t("doctor.value.none")
        rows.append(("torch", t("doctor.value.torch", version=torch["version"], cuda=cuda)))
        if torch["arch_list"]:
            how = (
                "doctor.value.compiled_in" if torch["arch_list_detected"] else "doctor.value.table"
            )
            arches = " ".join(torch["arch_list"])
            rows.append(
                (t("doctor.row.arch_list"), t("doctor.value.arches", arches=arches, how=t(how)))
            )
    for lib, version in s["libraries"].items():
        rows.append((lib, version or t("doctor.value.not_installed")))
    for what, found in rows:
        machine.add_row(what, found)
    return machine


def _no_gpu(doc: dict[str, Any]) -> str:
    lines = [t("doctor.text.no_gpu")]
    lines += [
        t("doctor.text.item", text=t("doctor.text.checked", how=c["how"], found=c["found"]))
        for c in doc["checked"]
        if c["what"] == "gpus"
    ]
    lines.append(t("doctor.text.with_gpu"))
    lines += [t("doctor.text.item", text=w) for w in doc["what_it_checks"]]
    lines.append(t("doctor.text.describe"))
    if doc["install"] and doc["install"].get("command"):
        lines.append(t("doctor.text.cpu_install", command=doc["install"]["command"]))
    return "\n".join(lines)


def _card(c: dict[str, Any]) -> Any:
    unknown = "?"
    tbl = table(
        title=t(
            "doctor.card.title",
            name=c["name"],
            cc=c["compute_capability"] or unknown,
            arch=c["architecture"] or unknown,
        ),
        show_header=True,
    )
    tbl.add_column("", no_wrap=True)
    tbl.add_column(t("doctor.col.code"), no_wrap=True)
    tbl.add_column(t("doctor.col.message"), overflow="fold")
    for p in c["problems"]:
        tbl.add_row(_severity(p["severity"]), p["code"], p["message"])
    if not any(p["severity"] == "error" for p in c["problems"]):
        tbl.add_row(styled(t("doctor.severity.ok"), "green"), "", t("doctor.card.nothing_blocks"))
    for a in c["advice"]:
        tbl.add_row(t("doctor.severity.advice"), a["code"], a["message"])
    return tbl
