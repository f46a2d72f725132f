"""``gpuwise mnist`` for people: one row per run (implementation, device, loop) with its test
accuracy and time per epoch. The table reads the document ``--json`` prints; every word is the
catalogue's (:func:`gpuwise.i18n.t`), in the language in use."""

from __future__ import annotations

from gpuwise.i18n import t
from gpuwise.render.table_kit import add_columns, table
from gpuwise.units import count

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

    from rich.table import Table

_CHECKED = {True: "mnist.table.checked", False: "mnist.table.not_published"}
_HEADERS = (
    "mnist.col.run",
    "mnist.col.device",
    "mnist.col.optimizer",
    "mnist.col.batch",
    "mnist.col.lr",
    "mnist.col.accuracy",
    "mnist.col.epoch",
    "mnist.col.speedup",
)


def run_name(r: dict[str, Any]) -> str:
    """NumPy, Keras, or PyTorch and its loop, with bf16 / compiled when on."""
    if r["impl"] in ("numpy", "keras"):
        name = {"numpy": "NumPy", "keras": "Keras"}[r["impl"]]
    else:
        loop = {"fast": "mnist.loop.fast", "plain": "mnist.loop.plain"}.get(r["loop"])
        name = t("mnist.run.torch", loop=t(loop) if loop else r["loop"])
    extras = [
        word for word, on in (("bf16", r["bf16"]), (t("mnist.run.compiled"), r["compiled"])) if on
    ]
    if not extras:
        return name
    return t("mnist.run.extras", name=name, extras=t("mnist.sep").join(extras))


def mnist_table(doc: dict[str, Any]) -> Table:
    ds = doc["dataset"]
    checked = ds["published_checksums"]
    tbl = table(
        title=t(
            "mnist.table.title",
            layers=doc["model"]["layers"],
            params=count(doc["model"]["params"]),
            name=ds["name"],
            train=f"{ds['train_images']:,}",
            test=f"{ds['test_images']:,}",
            height=ds["image_shape"][0],
            width=ds["image_shape"][1],
            checked=t(_CHECKED[checked]) if checked in _CHECKED else "",
        ),
        caption=t(
            "mnist.table.caption",
            epochs=doc["settings"]["epochs"],
            seed=doc["settings"]["seed"],
        ),
    )
    rows = [
        (
            run_name(r),
            r["device"],
            r["optimizer"],
            str(r["batch"]),
            f"{r['lr']:g}",
            f"{100 * r['test_accuracy']:.2f} %",
            f"{r['steady_epoch_seconds']:.3f}",
            "—" if r["gpu_speedup"] is None else f"{r['gpu_speedup']:.1f}x",
        )
        for r in doc["runs"]
    ]
    add_columns(tbl, [t(h) for h in _HEADERS], rows, text=(0,))
    for row in rows:
        tbl.add_row(*row)
    return tbl
