"""What ``gpuwise mnist`` says in Chinese: its table (NumPy and both PyTorch loops on the CPU,
on the small learnable IDX fixture of tests/mnist), its progress line, --help, and every way its
flags or the IDX files can be wrong (one Chinese line, exit 2); --json keeps keys and figures."""

from __future__ import annotations

import gzip
import re
import sys

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from gpuwise.i18n import use
from gpuwise.mnist.idx import encode_idx
from gpuwise.mnist.run import LAYERS
from tests.mnist.conftest import NAMES, write_fixture

from ..checks import one_line
from .checks import leftover_english, table_lines_aligned

CHINESE = re.compile(r"[\u4e00-\u9fff]")


@pytest.fixture(autouse=True)
def no_network(monkeypatch, tmp_path):
    """No test reaches the network, and the cache is a temporary folder."""
    import urllib.error

    from gpuwise.mnist import download

    def refuse(url, timeout_s):
        raise urllib.error.URLError("network disabled in tests")

    monkeypatch.setattr(download, "http_get", refuse)
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))


@pytest.fixture
def idx_dir(tmp_path):
    folder = tmp_path / "mnist"
    write_fixture(folder, n_train=200, n_test=50)
    return folder


#: What the table shows from data: the network's layers, data set, devices and optimizers.
DATA = [LAYERS, "mnist", "digits", "cpu", "adam", "sgd", "NumPy", "PyTorch", "Keras"]


def said(err: str) -> str:
    return err.split("：", 1)[1] if "：" in err else err


def test_the_table_in_chinese_leaves_no_english_and_lines_up(cli, idx_dir):
    args = ["mnist", "--data-dir", str(idx_dir), "--epochs", "2", "--loop", "both"]
    r = cli(*args, "--lang", "zh")
    assert r.code == 0, r.err
    assert "实现" in r.out and "快速循环" in r.out and "普通循环" in r.out
    assert leftover_english(r.out, DATA) == [], r.out
    assert table_lines_aligned(r.out) == []
    en = cli(*args)
    assert leftover_english(en.out, DATA), "the check sees the English table"


def test_the_json_in_chinese_has_the_same_keys_and_figures(cli, idx_dir):
    args = ["mnist", "--impl", "numpy", "--data-dir", str(idx_dir), "--epochs", "1", "--json"]
    en, zh = cli(*args).json(), cli(*args, "--lang", "zh").json()
    for doc in (en, zh):
        for run in doc["runs"]:
            run.pop("epoch_seconds"), run.pop("steady_epoch_seconds")
    assert en == zh  # no prose in it: names, settings and figures only


def test_the_progress_line_is_said_in_chinese(monkeypatch, capsys):
    from gpuwise.mnist.run import _progress

    monkeypatch.setattr(sys.stderr, "isatty", lambda: True)
    before = use("zh-CN")
    try:
        _progress(True, "numpy", 5)(2, 0.125, 0.25)
    finally:
        use(before)
    line = capsys.readouterr().err
    assert line == "numpy：第 2/5 轮 0.12 s，损失 0.2500\n"


def test_help_in_chinese_leaves_no_english(cli, monkeypatch):
    monkeypatch.setenv("COLUMNS", "80")
    r = cli("mnist", "--help", "--lang", "zh")
    assert r.code == 0 and "用法：" in r.out
    names = ["mnist", "digits", "numpy", "torch", "keras", "both", "all", "auto", "cuda", "cpu"]
    names += ["fast", "plain", "adam", "sgd", "DIR", "Flatten", "Dense", "ReLU", "Dropout"]
    names += ["softmax", "Adam", "DataLoader", "dropout", "lr", "dL/dW", "f(Wx", "gpuwise[keras]"]
    assert leftover_english(r.out, names) == [], r.out


BAD = [
    ["--epochs", "0"],
    ["--batch", "-3"],
    ["--seed", "-1"],
    ["--lr", "0"],
    ["--lr", "nan"],
    ["--impl", "jax"],
    ["--dataset", "digits", "--data-dir", "."],
    ["--data-dir", "/nonexistent/mnist"],
    [],  # no data, no network
    ["--no-download"],
]


@pytest.mark.parametrize("args", BAD, ids=[" ".join(a) or "no data" for a in BAD])
def test_a_bad_flag_is_one_chinese_line(cli, args):
    r = cli("mnist", "--impl", "numpy", *args, "--lang", "zh")
    one_line(r, "错误")
    assert CHINESE.search(said(r.err)), r.err
    names = [*args, "numpy", "torch", "keras", "both", "all", "MNIST"]
    names += ["network disabled in tests"]  # what the refused download said
    assert leftover_english(said(r.err), names) == [], r.err


def _break(folder, name, raw):
    (folder / f"{name}.gz").unlink()
    (folder / f"{name}.gz").write_bytes(raw)


@pytest.mark.parametrize(
    "case",
    [
        "corrupt gzip",
        "wrong magic",
        "too short",
        "truncated",
        "extra bytes",
        "labels as images",
        "count mismatch",
        "missing file",
        "label out of range",
    ],
)
def test_a_bad_idx_file_is_one_chinese_line(cli, idx_dir, case):
    import numpy as np

    images, labels = NAMES["train_images"], NAMES["train_labels"]
    good = gzip.decompress((idx_dir / f"{images}.gz").read_bytes())
    good_labels = gzip.decompress((idx_dir / f"{labels}.gz").read_bytes())
    labels_arr = np.frombuffer(good_labels[8:], np.uint8).copy()
    if case == "corrupt gzip":
        _break(idx_dir, images, b"\x1f\x8b" + b"not gzip at all")
    elif case == "wrong magic":
        _break(idx_dir, images, gzip.compress(b"\x12\x34" + good[2:]))
    elif case == "too short":
        _break(idx_dir, images, gzip.compress(b"\x00\x00"))
    elif case == "truncated":
        _break(idx_dir, images, gzip.compress(good[:-100]))
    elif case == "extra bytes":
        _break(idx_dir, images, gzip.compress(good + b"\x00" * 7))
    elif case == "labels as images":
        _break(idx_dir, images, gzip.compress(good_labels))
    elif case == "count mismatch":
        _break(idx_dir, labels, gzip.compress(encode_idx(labels_arr[:-1])))
    elif case == "missing file":
        (idx_dir / f"{NAMES['test_labels']}.gz").unlink()
    elif case == "label out of range":
        labels_arr[0] = 10
        _break(idx_dir, labels, gzip.compress(encode_idx(labels_arr)))
    r = cli("mnist", "--impl", "numpy", "--data-dir", str(idx_dir), "--lang", "zh")
    one_line(r, "错误")
    assert CHINESE.search(said(r.err)), r.err
    # the file's path and name, its dtype, and what zlib said of a corrupt stream
    names = [str(idx_dir), *NAMES.values(), "uint8", "Error", "decompressing", "data", "header"]
    names += ["check", "incorrect", "invalid", "block", "type", "Not", "gzipped", "file"]
    names += ["Unknown compression method"]
    assert leftover_english(said(r.err), names) == [], r.err


@settings(
    max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    flag=st.sampled_from(["--epochs", "--batch", "--seed", "--lr", "--impl"]),
    value=st.text(max_size=20).filter(lambda v: not v.startswith("-") or v[1:].isdigit()),
)
def test_any_malformed_flag_is_one_chinese_line(cli, tmp_path, flag, value):
    r = cli(
        "mnist", "--dataset", "digits", "--data-dir", str(tmp_path), flag, value, "--lang", "zh"
    )
    # --data-dir with digits is refused whatever the flag: only a malformed value comes first
    one_line(r, "错误")
    names = [value, repr(value), repr(value[:40]), flag, str(tmp_path), "numpy", "torch"]
    names += ["keras", "both", "all", "int", "mnist", "digits"]
    assert leftover_english(said(r.err), names) == [], r.err
