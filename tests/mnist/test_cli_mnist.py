"""``gpuwise mnist`` end to end: the JSON document, the accuracy users are promised, one-line
errors for bad flags and bad files, and no torch for the NumPy run."""

from __future__ import annotations

import gzip
import json
import subprocess
import sys

import pytest

from gpuwise.mnist.idx import encode_idx
from tests.mnist.conftest import NAMES, write_fixture

RUN_KEYS = {
    "impl",
    "device",
    "loop",
    "optimizer",
    "batch",
    "lr",
    "bf16",
    "compiled",
    "epoch_seconds",
    "steady_epoch_seconds",
    "train_loss",
    "test_accuracy",
    "cpu_epoch_seconds",
    "gpu_speedup",
}


def test_numpy_on_an_idx_folder_json(cli, idx_dir):
    r = cli("mnist", "--impl", "numpy", "--data-dir", str(idx_dir), "--epochs", "3", "--json")
    assert r.code == 0, r.err
    doc = r.json()
    assert {"schema_version", "gpuwise_version", "dataset", "model", "settings", "runs"} <= set(doc)
    assert doc["dataset"] == {
        "name": "mnist",
        "source": str(idx_dir),
        "train_images": 300,
        "test_images": 100,
        "image_shape": [28, 28],
        "published_checksums": False,
    }
    assert doc["model"]["params"] == 784 * 128 + 128 + 128 * 10 + 10
    (run,) = doc["runs"]
    assert set(run) == RUN_KEYS
    assert run["impl"] == "numpy" and run["batch"] == 32 and run["lr"] == 0.001
    assert len(run["epoch_seconds"]) == 3 and run["train_loss"][-1] < run["train_loss"][0]
    assert run["test_accuracy"] >= 0.9


def test_plain_files_and_sgd_table(cli, tmp_path):
    write_fixture(tmp_path / "d", gz=False)
    r = cli(
        "mnist",
        "--impl",
        "numpy",
        "--data-dir",
        str(tmp_path / "d"),
        "--epochs",
        "2",
        "--optimizer",
        "sgd",
    )
    assert r.code == 0, r.err
    assert "NumPy" in r.out and "sgd" in r.out and "0.1" in r.out


def test_digits_numpy_defaults_reach_95_percent(cli):
    for seed in ("0", "1", "2"):
        doc = cli(
            "mnist", "--impl", "numpy", "--dataset", "digits", "--seed", seed, "--json"
        ).json()
        (run,) = doc["runs"]
        assert doc["dataset"]["train_images"] + doc["dataset"]["test_images"] == 1797
        assert doc["settings"]["epochs"] == 40 and run["lr"] == 0.002 and run["batch"] == 32
        assert run["test_accuracy"] >= 0.95, (seed, run["test_accuracy"])


def test_torch_on_digits_learns(cli):
    pytest.importorskip("torch")
    doc = cli(
        "mnist",
        "--impl",
        "torch",
        "--dataset",
        "digits",
        "--loop",
        "both",
        "--epochs",
        "15",
        "--device",
        "cpu",
        "--json",
    ).json()
    loops = {r["loop"]: r for r in doc["runs"]}
    assert set(loops) == {"plain", "fast"}
    assert loops["plain"]["batch"] == 32 and loops["fast"]["batch"] == 64
    for run in loops.values():
        assert run["device"] == "cpu" and run["gpu_speedup"] is None
        assert run["test_accuracy"] >= 0.9, run


def test_numpy_run_never_imports_torch():
    code = (
        "import sys; from gpuwise.cli.main import main; "
        "rc = main(['mnist', '--impl', 'numpy', '--dataset', 'digits', '--epochs', '1', "
        "'--json']); assert rc == 0; assert 'torch' not in sys.modules, 'torch imported'"
    )
    r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert r.returncode == 0, r.stderr


def _one_line_error(r, *words):
    assert r.code == 2 and r.out == ""
    lines = r.err.strip().splitlines()
    assert len(lines) == 1 and "Traceback" not in r.err, r.err
    for w in words:
        assert w in r.err, r.err


@pytest.mark.parametrize(
    "flags, words",
    [
        (["--epochs", "0"], ["--epochs"]),
        (["--batch", "0"], ["--batch"]),
        (["--lr", "-0.1"], ["--lr"]),
        (["--lr", "0"], ["--lr"]),
        (["--data-dir", "/nonexistent/mnist"], ["no such folder"]),
    ],
)
def test_bad_flags(cli, flags, words):
    _one_line_error(cli("mnist", "--impl", "numpy", *flags), *words)


def test_no_data_no_network_names_the_ways_out(cli):
    _one_line_error(cli("mnist", "--impl", "numpy"), "--data-dir", "--dataset digits")
    _one_line_error(
        cli("mnist", "--impl", "numpy", "--no-download"), "--data-dir", "--dataset digits"
    )


def _break(folder, name, raw):
    (folder / f"{name}.gz").unlink()
    (folder / f"{name}.gz").write_bytes(raw)


@pytest.mark.parametrize(
    "case, words",
    [
        ("corrupt gzip", ["corrupt gzip"]),
        ("wrong magic", ["not an IDX file"]),
        ("truncated", ["truncated"]),
        ("labels as images", ["3-D uint8"]),
        ("count mismatch", ["300 images but 299 labels"]),
        ("missing file", ["no t10k-labels-idx1-ubyte"]),
        ("label out of range", ["0-9"]),
    ],
)
def test_bad_idx_files(cli, idx_dir, case, words):
    images = NAMES["train_images"]
    labels = NAMES["train_labels"]
    good = gzip.decompress((idx_dir / f"{images}.gz").read_bytes())
    good_labels = gzip.decompress((idx_dir / f"{labels}.gz").read_bytes())
    if case == "corrupt gzip":
        _break(idx_dir, images, b"\x1f\x8b" + b"not gzip at all")
    elif case == "wrong magic":
        _break(idx_dir, images, gzip.compress(b"\x12\x34" + good[2:]))
    elif case == "truncated":
        _break(idx_dir, images, gzip.compress(good[:-100]))
    elif case == "labels as images":
        _break(idx_dir, images, gzip.compress(good_labels))
    elif case == "count mismatch":
        import numpy as np

        labels_arr = np.frombuffer(good_labels[8:], np.uint8)
        _break(idx_dir, labels, gzip.compress(encode_idx(labels_arr[:-1])))
    elif case == "missing file":
        (idx_dir / f"{NAMES['test_labels']}.gz").unlink()
    elif case == "label out of range":
        import numpy as np

        labels_arr = np.frombuffer(good_labels[8:], np.uint8).copy()
        labels_arr[0] = 10
        _break(idx_dir, labels, gzip.compress(encode_idx(labels_arr)))
    _one_line_error(cli("mnist", "--impl", "numpy", "--data-dir", str(idx_dir)), *words)


def test_json_is_the_only_stdout(cli, idx_dir):
    r = cli("mnist", "--impl", "numpy", "--data-dir", str(idx_dir), "--epochs", "1", "--json")
    json.loads(r.out)


def test_torch_fast_loop_with_sgd_and_no_lr(cli):
    """SGD without --lr takes the data set's SGD rate in both loops (it crashed the fast one)."""
    pytest.importorskip("torch")
    r = cli("mnist", "--impl", "torch", "--dataset", "digits", "--epochs", "1", "--optimizer",
            "sgd", "--json")  # fmt: skip
    assert r.code == 0, r.err
    run = r.json()["runs"][0]
    assert run["lr"] > 0
