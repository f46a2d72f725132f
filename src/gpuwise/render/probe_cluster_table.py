"""``probe --simulate --layout``: one simulated rank of a layout beside the cluster plan's
figure for its stage, read from the JSON document; every word is the catalogue's."""

from __future__ import annotations

from typing import Any

from rich.table import Table

from gpuwise.i18n import t
from gpuwise.render.table_kit import add_columns
from gpuwise.units import gib

#: The kinds both sides have, in the order shown (NCCL's buffers are the plan's only).
_KINDS = {
    "weights": "measure.kind.weights",
    "gradients": "measure.kind.gradients",
    "optimizer": "measure.kind.optimizer",
    "activations": "measure.kind.activations",
    "temporaries": "measure.kind.temporaries",
}
#: The phases a simulated rank's peak falls in.
_PHASES = {
    "setup": "measure.phase.setup",
    "forward": "measure.phase.forward",
    "backward": "measure.phase.backward",
    "optimizer": "measure.phase.optimizer",
    "zero_grad": "measure.phase.zero_grad",
}


def probe_cluster_table(doc: dict[str, Any]) -> Table:
    sim, ana, c = doc["memory"], doc["analytic"], doc["cluster"]
    rows: list[tuple[Any, ...]] = [
        (
            t(key),
            gib(sim["breakdown"].get(kind, 0)),
            gib(ana["breakdown"].get(kind, 0)),
        )
        for kind, key in _KINDS.items()  # every kind, zeros too: the same rows each time
    ]
    rows.append((t("simcluster.row.comm_buffers"), gib(0), gib(ana["breakdown"]["comm_buffers"])))
    rows.append(
        (
            t("measure.row.peak_allocated"),
            gib(sim["peak_allocated_bytes"]),
            gib(ana["peak_allocated_bytes"]),
        )
    )
    rows.append((t("measure.row.required"), gib(sim["required_bytes"]), gib(ana["required_bytes"])))
    table = Table(
        title=t("simcluster.table.title", model=doc["model"]["name"], layout=c["layout"]),
        caption=t(
            "simcluster.table.caption",
            stage=c["stage"] + 1,
            stages=c["stages"],
            first=c["layers"][0],
            last=c["layers"][1] - 1,
            phase=t(_PHASES[sim["peak_phase"]]),
            held=sim["in_flight"],
            planned=ana["in_flight"],
            seconds=doc["seconds"],
            versions=", ".join(f"{k} {v}" for k, v in doc["simulated_on"].items()),
            error=f"{100 * doc['error']:+.2f}",
        ),
        caption_justify="left",
    )
    headers = [t("measure.col.memory"), t("probe.col.simulated"), t("measure.col.plan")]
    add_columns(table, headers, rows, text=(0,))
    for row in rows:
        table.add_row(*row)
    return table
