"""The data sets the example trains on: MNIST from IDX files, scikit-learn's 8x8 digits, and
MNIST-shaped random data for timing."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from gpuwise.errors import GpuwiseError
from gpuwise.i18n import Message
from gpuwise.mnist.config import defaults, mnist_data
from gpuwise.mnist.deps import need
from gpuwise.mnist.idx import cannot_read, decompress, parse_idx

N_CLASSES = 10


@dataclass(frozen=True)
class Dataset:
    """Images as stored (``uint8``, count x height x width) with labels 0-9.

    ``pixel_max`` maps pixels to [0, 1] (255 for MNIST, 16 for the digits); ``verified`` says
    whether the files are the published MNIST (SHA-256 match), None where that does not apply.
    """

    name: str
    source: str
    x_train: np.ndarray
    y_train: np.ndarray
    x_test: np.ndarray
    y_test: np.ndarray
    pixel_max: float
    verified: bool | None = None

    @property
    def image_shape(self) -> tuple[int, int]:
        return (int(self.x_train.shape[1]), int(self.x_train.shape[2]))

    def scaled(self, images: np.ndarray, dtype: type = np.float32) -> np.ndarray:
        """``images`` as ``dtype`` in [0, 1]."""
        return (images.astype(dtype) / dtype(self.pixel_max)).astype(dtype)


def _candidates(name: str) -> list[str]:
    # the official names, and the ones some unpackers make ("train-images.idx3-ubyte")
    dotted = name.replace("-idx", ".idx")
    return [name, f"{name}.gz", dotted, f"{dotted}.gz"]


def _read_checked(folder: Path, entry: dict[str, str | int]) -> tuple[np.ndarray, bool]:
    name = str(entry["name"])
    for candidate in _candidates(name):
        path = folder / candidate
        if path.is_file():
            break
    else:
        raise GpuwiseError(Message("mnist.error.no_file", folder=str(folder), name=name))
    try:
        raw = decompress(path.read_bytes(), str(path))
    except OSError as e:
        raise GpuwiseError(cannot_read(path, e)) from e
    verified = len(raw) == entry["idx_bytes"] and (
        hashlib.sha256(raw).hexdigest() == entry["idx_sha256"]
    )
    return parse_idx(raw, str(path)), verified


def _check_pair(images: np.ndarray, labels: np.ndarray, split: str, folder: Path) -> None:
    key = "mnist.split.training" if split == "training" else "mnist.split.test"
    where = Message("mnist.error.where", folder=str(folder), split=Message(key))
    if images.ndim != 3 or images.dtype != np.uint8:
        raise GpuwiseError(
            Message(
                "mnist.error.images_shape",
                where=where,
                ndim=images.ndim,
                dtype=str(images.dtype),
            )
        )
    if labels.ndim != 1 or labels.dtype != np.uint8:
        raise GpuwiseError(
            Message(
                "mnist.error.labels_shape",
                where=where,
                ndim=labels.ndim,
                dtype=str(labels.dtype),
            )
        )
    if len(images) != len(labels):
        raise GpuwiseError(
            Message("mnist.error.counts", where=where, images=len(images), labels=len(labels))
        )
    if len(images) == 0:
        raise GpuwiseError(Message("mnist.error.no_images", where=where))
    if labels.max() >= N_CLASSES:
        raise GpuwiseError(Message("mnist.error.labels", where=where, found=int(labels.max())))


def load_idx_dir(folder: Path) -> Dataset:
    """The four MNIST IDX files in ``folder`` (gzip or plain), checked for shape and counts."""
    if not folder.is_dir():
        raise GpuwiseError(Message("mnist.error.no_folder", folder=str(folder)))
    files = mnist_data()["files"]
    arrays = {key: _read_checked(folder, entry) for key, entry in files.items()}
    x_train, y_train = arrays["train_images"][0], arrays["train_labels"][0]
    x_test, y_test = arrays["test_images"][0], arrays["test_labels"][0]
    _check_pair(x_train, y_train, "training", folder)
    _check_pair(x_test, y_test, "test", folder)
    if x_train.shape[1:] != x_test.shape[1:]:
        raise GpuwiseError(
            Message(
                "mnist.error.image_sizes",
                folder=str(folder),
                train=str(x_train.shape[1:]),
                test=str(x_test.shape[1:]),
            )
        )
    return Dataset(
        name="mnist",
        source=str(folder),
        x_train=x_train,
        y_train=y_train,
        x_test=x_test,
        y_test=y_test,
        pixel_max=255.0,
        verified=all(ok for _, ok in arrays.values()),
    )


def stratified_split(
    labels: np.ndarray, test_fraction: float, seed: int
) -> tuple[np.ndarray, np.ndarray]:
    """Train and test indices with ``test_fraction`` of each class in the test part (rounded)."""
    rng = np.random.default_rng(seed)
    train, test = [], []
    for c in np.unique(labels):
        members = rng.permutation(np.flatnonzero(labels == c))
        n_test = round(len(members) * test_fraction)
        test.append(members[:n_test])
        train.append(members[n_test:])
    return np.sort(np.concatenate(train)), np.sort(np.concatenate(test))


def load_digits_dataset() -> Dataset:
    """scikit-learn's bundled 8x8 digits (1,797 images, pixels 0-16), split by class with the
    fixed fraction and seed of the data file (20 % test, seed 0: 1,437 / 360 images)."""
    datasets = need("sklearn.datasets")
    bunch = datasets.load_digits()
    images = bunch.images.astype(np.uint8)
    labels = bunch.target.astype(np.uint8)
    d = defaults("digits")
    train, test = stratified_split(labels, d["test_fraction"], d["split_seed"])
    return Dataset(
        name="digits",
        source="sklearn.datasets.load_digits (UCI optical recognition of handwritten digits)",
        x_train=images[train],
        y_train=labels[train],
        x_test=images[test],
        y_test=labels[test],
        pixel_max=16.0,
    )


def synthetic_mnist(n_train: int = 60_000, n_test: int = 10_000, seed: int = 0) -> Dataset:
    """Random MNIST-shaped data (28 x 28 uint8, 10 classes) for timing only: nothing to learn."""
    rng = np.random.default_rng(seed)
    n = n_train + n_test
    images = rng.integers(0, 256, size=(n, 28, 28), dtype=np.uint8)
    labels = rng.integers(0, N_CLASSES, size=n, dtype=np.uint8)
    return Dataset(
        name="synthetic",
        source=f"random uint8, seed {seed} (timing only)",
        x_train=images[:n_train],
        y_train=labels[:n_train],
        x_test=images[n_train:],
        y_test=labels[n_train:],
        pixel_max=255.0,
    )
