"""A small MNIST-shaped IDX fixture that a network can learn, written by the tests."""

from __future__ import annotations

import os

import numpy as np
import pytest

from gpuwise.mnist.idx import write_idx

NAMES = {
    "train_images": "train-images-idx3-ubyte",
    "train_labels": "train-labels-idx1-ubyte",
    "test_images": "t10k-images-idx3-ubyte",
    "test_labels": "t10k-labels-idx1-ubyte",
}


def learnable(n: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """28 x 28 noise with a bright 5 x 5 patch whose place is the label."""
    rng = np.random.default_rng(seed)
    labels = rng.integers(0, 10, size=n).astype(np.uint8)
    images = rng.integers(0, 60, size=(n, 28, 28)).astype(np.uint8)
    for i, c in enumerate(labels):
        r, col = 2 + 12 * (c // 5), 1 + 5 * (c % 5)
        images[i, r : r + 5, col : col + 5] = 250
    return images, labels


def write_fixture(folder, n_train=300, n_test=100, gz=True):
    folder.mkdir(parents=True, exist_ok=True)
    x_train, y_train = learnable(n_train, 1)
    x_test, y_test = learnable(n_test, 2)
    arrays = {
        "train_images": x_train,
        "train_labels": y_train,
        "test_images": x_test,
        "test_labels": y_test,
    }
    for key, array in arrays.items():
        write_idx(folder / (NAMES[key] + (".gz" if gz else "")), array)
    return arrays


@pytest.fixture
def idx_dir(tmp_path):
    folder = tmp_path / "mnist"
    write_fixture(folder)
    return folder


@pytest.fixture(autouse=True)
def no_network(monkeypatch, tmp_path):
    """No test reaches the network, and the cache is a temporary folder."""
    import urllib.error

    from gpuwise.mnist import download

    def refuse(url, timeout_s):
        raise urllib.error.URLError("network disabled in tests")

    monkeypatch.setattr(download, "http_get", refuse)
    monkeypatch.delenv("PIP_INDEX_URL", raising=False)  # the developer's pip index is not asked
    monkeypatch.setenv("PIP_CONFIG_FILE", os.devnull)
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
