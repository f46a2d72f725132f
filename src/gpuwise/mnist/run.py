"""Run the example: load the data, train the chosen implementations, collect one document.

The document is what ``gpuwise mnist --json`` prints and what the table shows.
"""

from __future__ import annotations

import statistics
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from gpuwise.errors import GpuwiseError
from gpuwise.i18n import Message, t
from gpuwise.mnist.config import defaults

LAYERS = "Flatten -> Dense 128 ReLU -> Dropout 0.2 -> Dense 10 softmax"

#: What --impl takes: one implementation, several joined by commas, or a group.
IMPLS = ("numpy", "torch", "keras")
GROUPS = {"both": ("numpy", "torch"), "all": IMPLS}


def impls(text: str) -> tuple[str, ...]:
    """``"numpy,keras"`` -> ``("numpy", "keras")`` (in this order: NumPy, PyTorch, Keras);
    ``both`` is NumPy and PyTorch, ``all`` adds Keras. A one-line GpuwiseError otherwise."""
    chosen: set[str] = set()
    for word in text.split(","):
        word = word.strip().lower()
        if word in GROUPS:
            chosen.update(GROUPS[word])
        elif word in IMPLS:
            chosen.add(word)
        else:
            raise GpuwiseError(
                Message("mnist.error.impl", value=repr(text[:40]), what=impl_choices())
            )
    return tuple(i for i in IMPLS if i in chosen)


def impl_choices() -> Message:
    """What ``--impl`` takes, said."""
    return Message("mnist.error.impl_choices", impls=", ".join(IMPLS))


@dataclass(frozen=True)
class Options:
    impl: str = "both"  # numpy | torch | keras, comma-joined, or both | all (see impls)
    dataset: str = "mnist"  # mnist | digits
    data_dir: Path | None = None
    epochs: int | None = None
    batch: int | None = None
    lr: float | None = None
    optimizer: str = "adam"  # adam | sgd
    seed: int | None = None
    device: str = "auto"  # auto | cpu | cuda
    loop: str = "fast"  # fast | plain | both
    bf16: bool | None = None  # None: where the device runs it natively (fast loop only)
    compile: bool = False
    download: bool = True
    progress: bool = True


def validate(o: Options) -> None:
    impls(o.impl)
    if o.epochs is not None and o.epochs < 1:
        raise GpuwiseError(Message("mnist.error.at_least_one", flag="--epochs", value=o.epochs))
    if o.batch is not None and o.batch < 1:
        raise GpuwiseError(Message("mnist.error.at_least_one", flag="--batch", value=o.batch))
    if o.lr is not None and not o.lr > 0:
        raise GpuwiseError(Message("mnist.error.lr_positive", value=o.lr))
    if o.seed is not None and o.seed < 0:
        raise GpuwiseError(Message("mnist.error.seed", value=o.seed))
    if o.data_dir is not None and o.dataset != "mnist":
        raise GpuwiseError(Message("mnist.error.data_dir_digits"))


def settings(o: Options) -> dict[str, Any]:
    """The settings in force: the user's flags over the data set's defaults."""
    d = defaults(o.dataset)
    lr = o.lr if o.lr is not None else (d["sgd_lr"] if o.optimizer == "sgd" else d["lr"])
    return {
        "epochs": o.epochs or d["epochs"],
        "batch": o.batch or d["batch"],
        "lr": lr,
        "fast_batch": o.batch or d["fast_batch"],
        "fast_lr": lr if o.lr is not None or o.optimizer == "sgd" else d["fast_lr"],
        "seed": o.seed if o.seed is not None else d["seed"],
        "optimizer": o.optimizer,
        "hidden": d["hidden"],
        "dropout": d["dropout"],
        "adam": d["adam"],
    }


def load(o: Options) -> Any:
    from gpuwise.mnist import data
    from gpuwise.mnist.download import ensure_mnist

    if o.dataset == "digits":
        return data.load_digits_dataset()
    if o.data_dir is not None:
        return data.load_idx_dir(o.data_dir)
    return data.load_idx_dir(ensure_mnist(download=o.download))


def _progress(enabled: bool, label: str, epochs: int) -> Any:
    def report(epoch: int, seconds: float, loss: float) -> None:
        if enabled and sys.stderr.isatty():
            line = t(
                "mnist.progress",
                label=label,
                epoch=epoch,
                epochs=epochs,
                seconds=f"{seconds:.2f}",
                loss=f"{loss:.4f}",
            )
            print(line, file=sys.stderr, flush=True)

    return report


def _run_entry(
    impl: str,
    device: str,
    loop: str,
    optimizer: str,
    batch: int,
    lr: float,
    epoch_seconds: list[float],
    train_loss: list[float],
    accuracy: float,
    bf16: bool = False,
    compiled: bool = False,
) -> dict[str, Any]:
    steady = epoch_seconds[1:] or epoch_seconds  # the first epoch also warms up
    return {
        "impl": impl,
        "device": device,
        "loop": loop,
        "optimizer": optimizer,
        "batch": batch,
        "lr": lr,
        "bf16": bf16,
        "compiled": compiled,
        "epoch_seconds": [round(s, 4) for s in epoch_seconds],
        "steady_epoch_seconds": round(statistics.median(steady), 4),
        "train_loss": [round(v, 5) for v in train_loss],
        "test_accuracy": accuracy,
        "cpu_epoch_seconds": None,
        "gpu_speedup": None,
    }


def run_numpy(ds: Any, s: dict[str, Any], progress: bool) -> dict[str, Any]:
    import numpy as np

    from gpuwise.mnist import numpy_mlp as nm

    rng = np.random.default_rng(s["seed"])
    x_train = ds.scaled(ds.x_train).reshape(len(ds.x_train), -1)
    x_test = ds.scaled(ds.x_test).reshape(len(ds.x_test), -1)
    params = nm.init_params(x_train.shape[1], s["hidden"], 10, rng)
    a = s["adam"]
    opt = (
        nm.SGD(s["lr"])
        if s["optimizer"] == "sgd"
        else nm.Adam(s["lr"], a["beta1"], a["beta2"], a["eps"])
    )
    history = nm.fit(
        params,
        x_train,
        ds.y_train,
        opt,
        s["epochs"],
        s["batch"],
        s["dropout"],
        rng,
        _progress(progress, "numpy", s["epochs"]),
    )
    acc = nm.accuracy(params, x_test, ds.y_test)
    return _run_entry(
        "numpy",
        "cpu",
        "numpy",
        s["optimizer"],
        s["batch"],
        s["lr"],
        history.epoch_seconds,
        history.train_loss,
        acc,
    )


def run_torch(ds: Any, s: dict[str, Any], o: Options, loop: str) -> dict[str, Any]:
    from gpuwise.mnist import torch_mlp as tm

    device = tm.pick_device(o.device)
    fast = loop == "fast"
    batch, lr = (s["fast_batch"], s["fast_lr"]) if fast else (s["batch"], s["lr"])
    bf16 = fast and (tm.bf16_supported(device) if o.bf16 is None else o.bf16)
    common = dict(
        loop=loop,
        batch=batch,
        lr=lr,
        seed=s["seed"],
        hidden=s["hidden"],
        dropout=s["dropout"],
        eps=s["adam"]["eps"],
        optimizer_name=s["optimizer"],
        compile_step=o.compile and fast,
    )
    label = f"torch {loop} ({device.type})"
    r = tm.train(
        ds.x_train,
        ds.y_train,
        ds.x_test,
        ds.y_test,
        ds.pixel_max,
        epochs=s["epochs"],
        device=device,
        bf16=bf16,
        on_epoch=_progress(o.progress, label, s["epochs"]),
        **common,
    )
    entry = _run_entry(
        "torch",
        device.type,
        loop,
        s["optimizer"],
        batch,
        lr,
        r.epoch_seconds,
        r.train_loss,
        r.test_accuracy,
        bf16,
        r.compiled,
    )
    if device.type == "cuda":
        # the same loop on the CPU for two epochs, the second (warm, compiled if asked) against
        # the GPU's steady epochs: the GPU-vs-CPU speedup
        cpu = tm.torch.device("cpu")
        cpu_bf16 = fast and (tm.bf16_supported(cpu) if o.bf16 is None else o.bf16)
        c = tm.train(
            ds.x_train,
            ds.y_train,
            ds.x_test,
            ds.y_test,
            ds.pixel_max,
            epochs=2,
            device=cpu,
            bf16=cpu_bf16,
            on_epoch=_progress(o.progress, f"torch {loop} (cpu)", 2),
            **common,
        )
        entry["cpu_epoch_seconds"] = round(c.epoch_seconds[-1], 4)
        entry["gpu_speedup"] = round(c.epoch_seconds[-1] / entry["steady_epoch_seconds"], 2)
    return entry


def run_keras(ds: Any, s: dict[str, Any], progress: bool) -> dict[str, Any]:
    from gpuwise.mnist import keras_mlp as km

    label = f"keras (tensorflow {km.tf.__version__})"
    data = (ds.scaled(ds.x_train), ds.y_train, ds.scaled(ds.x_test), ds.y_test)
    r = km.train(*data, s, _progress(progress, label, s["epochs"]))
    return _run_entry(
        "keras",
        r.device,
        "keras",
        s["optimizer"],
        s["batch"],
        s["lr"],
        r.epoch_seconds,
        r.train_loss,
        r.test_accuracy,
    )


def run_mnist(o: Options) -> dict[str, Any]:
    """Train what ``o`` asks for; the document's fields are listed in docs/mnist.md."""
    from gpuwise.mnist.deps import need

    validate(o)
    chosen = impls(o.impl)
    need("numpy")
    for impl, module in (("torch", "torch"), ("keras", "tensorflow")):
        if impl in chosen:
            need(module)  # before the data: say what is missing first
    ds = load(o)
    s = settings(o)
    runs = []
    if "numpy" in chosen:
        runs.append(run_numpy(ds, s, o.progress))
    if "torch" in chosen:
        for loop in ("plain", "fast") if o.loop == "both" else (o.loop,):
            runs.append(run_torch(ds, s, o, loop))
    if "keras" in chosen:
        runs.append(run_keras(ds, s, o.progress))
    n_in = ds.image_shape[0] * ds.image_shape[1]
    return {
        "dataset": {
            "name": ds.name,
            "source": ds.source,
            "train_images": len(ds.x_train),
            "test_images": len(ds.x_test),
            "image_shape": list(ds.image_shape),
            "published_checksums": ds.verified,
        },
        "model": {
            "layers": LAYERS,
            "params": n_in * s["hidden"] + s["hidden"] + s["hidden"] * 10 + 10,
        },
        "settings": {k: s[k] for k in ("epochs", "seed", "optimizer")},
        "runs": runs,
    }
