"""The downloader keeps only files with the published checksums, caches them under
$XDG_CACHE_HOME, and says how to go on without the network."""

from __future__ import annotations

import gzip
import hashlib

import pytest

from gpuwise.errors import GpuwiseError
from gpuwise.mnist import config, download
from gpuwise.mnist.idx import encode_idx
from tests.mnist.conftest import NAMES, learnable


def test_cache_dir_follows_xdg(monkeypatch, tmp_path):
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "c"))
    assert download.cache_dir() == tmp_path / "c" / "gpuwise" / "mnist"
    monkeypatch.delenv("XDG_CACHE_HOME")
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    assert download.cache_dir() == tmp_path / "home" / ".cache" / "gpuwise" / "mnist"


def test_no_home_folder_is_one_line_not_a_traceback(monkeypatch):
    """With no home folder (no $HOME, no passwd entry) there is no default cache: one line."""
    monkeypatch.delenv("XDG_CACHE_HOME", raising=False)
    monkeypatch.setattr(download.files, "home", lambda: None)
    with pytest.raises(GpuwiseError, match="no home folder") as e:
        download.cache_dir()
    assert "\n" not in str(e.value) and "--data-dir" in str(e.value)


def test_mismatching_download_is_refused_and_not_kept(tmp_path):
    served = []

    def fake_fetch(url, timeout_s):
        served.append(url)
        return gzip.compress(b"\x00\x00\x08\x01\x00\x00\x00\x01\x07")  # valid IDX, wrong data

    with pytest.raises(GpuwiseError, match="checksum mismatch") as e:
        download.ensure_mnist(fetch=fake_fetch, directory=tmp_path / "c")
    assert "--data-dir" in str(e.value) and "--dataset digits" in str(e.value)
    assert len(served) == len(config.mnist_data()["mirrors"])  # every mirror tried
    assert not (tmp_path / "c").exists() or not any((tmp_path / "c").iterdir())


def test_matching_download_is_cached_then_reused(monkeypatch, tmp_path):
    # pin the fixture's own digests in place of MNIST's, computed here with hashlib
    x, y = learnable(20, 5)
    raw = {
        NAMES["train_images"]: encode_idx(x),
        NAMES["train_labels"]: encode_idx(y),
        NAMES["test_images"]: encode_idx(x[:5]),
        NAMES["test_labels"]: encode_idx(y[:5]),
    }
    data = dict(config.mnist_data())
    data["files"] = {
        key: {
            "name": name,
            "idx_bytes": len(raw[name]),
            "idx_sha256": hashlib.sha256(raw[name]).hexdigest(),
        }
        for key, name in NAMES.items()
    }
    monkeypatch.setattr(download, "mnist_data", lambda: data)
    fetched = []

    def fake_fetch(url, timeout_s):
        fetched.append(url)
        if "ossci" in url:
            return b"tampered"
        return gzip.compress(raw[url.rsplit("/", 1)[1].removesuffix(".gz")])

    folder = download.ensure_mnist(fetch=fake_fetch)
    assert folder == download.cache_dir()
    assert sorted(p.name for p in folder.iterdir()) == sorted(f"{n}.gz" for n in NAMES.values())
    assert len(fetched) == 8  # the first mirror refused, the second accepted, for each file
    fetched.clear()
    assert download.ensure_mnist(download=False, fetch=fake_fetch) == folder
    assert fetched == []  # from the cache


def test_no_download_and_empty_cache_says_what_to_do():
    with pytest.raises(GpuwiseError, match=r"--no-download.*--data-dir.*--dataset digits"):
        download.ensure_mnist(download=False)
