"""A hub id found in the local ModelScope cache, in the layouts ``modelscope`` has written.

Fake caches in tmp_path, laid out as ``snapshot_download`` lays them out: the new layout
(modelscope >= 1.23: ``<cache>/models/<owner>/<name>``), the old one (``<cache>/<owner>/<name>``
under ``~/.cache/modelscope/hub``, ``$MODELSCOPE_CACHE/hub/<owner>/<name>``), the ``.`` of a
name written ``___``, and the link from the dotted name newer versions add.
"""

from __future__ import annotations

import json
import os

import pytest
from hypothesis import given
from hypothesis import strategies as st

from gpuwise.errors import GpuwiseError
from gpuwise.models import load_model
from gpuwise.models.hub_id import hub_id_parts
from gpuwise.models.modelscope_cache import candidates
from tests.checks import TINY_CONFIG, fixture_ok

CONFIG = {**TINY_CONFIG, "model_type": "qwen2"}


@pytest.fixture
def caches(tmp_path, monkeypatch):
    """Empty HF cache and gpuwise cache; no home folder to fall back on."""
    monkeypatch.setenv("HF_HUB_CACHE", str(tmp_path / "hf"))
    monkeypatch.delenv("HF_HOME", raising=False)
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    monkeypatch.delenv("MODELSCOPE_CACHE", raising=False)
    return tmp_path


def put(folder, config=CONFIG):
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "config.json").write_text(json.dumps(config))
    return folder / "config.json"


def test_new_layout_default_folder(caches):
    path = put(caches / "home/.cache/modelscope/hub/models/acme/Tiny2___5-1B")
    spec = load_model("acme/Tiny2.5-1B")
    assert str(spec.source) == f"ModelScope cache ({path})"
    assert spec.params > 0


def test_old_layout_default_folder(caches):
    path = put(caches / "home/.cache/modelscope/hub/acme/Tiny2___5-1B")
    assert str(load_model("acme/Tiny2.5-1B").source) == f"ModelScope cache ({path})"


def test_old_layout_before_names_were_masked(caches):
    path = put(caches / "home/.cache/modelscope/hub/acme/Tiny2.5-1B")
    assert str(load_model("acme/Tiny2.5-1B").source) == f"ModelScope cache ({path})"


@pytest.mark.parametrize(
    "where,cache",
    [
        ("ms/models/Org/Model___1", "ms"),  # new layout under $MODELSCOPE_CACHE
        ("ms/hub/Org/Model___1", "ms"),  # old layout: $MODELSCOPE_CACHE/hub
        ("ms/hub/models/Org/Model___1", "ms/hub"),  # new, $MODELSCOPE_CACHE ending in hub
        ("ms/hub/Org/Model___1", "ms/hub"),  # old, $MODELSCOPE_CACHE ending in hub
    ],
)
def test_modelscope_cache_variable(caches, monkeypatch, where, cache):
    monkeypatch.setenv("MODELSCOPE_CACHE", str(caches / cache))
    path = put(caches / where)
    assert str(load_model("Org/Model.1").source) == f"ModelScope cache ({path})"


def test_new_layout_comes_before_old(caches):
    put(caches / "home/.cache/modelscope/hub/Org/m", {**CONFIG, "num_hidden_layers": 1})
    new = put(caches / "home/.cache/modelscope/hub/models/Org/m")
    spec = load_model("Org/m")
    assert str(spec.source) == f"ModelScope cache ({new})" and spec.num_layers == 2


def test_link_inside_the_cache_is_followed(caches):
    """Newer modelscope links the dotted name to the masked folder; any link that stays inside
    the cache is followed."""
    models = caches / "home/.cache/modelscope/hub/models"
    real = put(models / "Other" / "copy").parent
    (models / "Org").mkdir()
    os.symlink(real, models / "Org" / "M.2")
    assert (
        str(load_model("Org/M.2").source)
        == f"ModelScope cache ({models / 'Org' / 'M.2' / 'config.json'})"
    )


def test_hf_cache_comes_first(caches):
    snap = caches / "hf/models--Org--m/snapshots/abc"
    put(snap)
    put(caches / "home/.cache/modelscope/hub/models/Org/m")
    assert "Hugging Face cache" in str(load_model("Org/m").source)


def test_a_link_out_of_the_cache_is_not_followed(caches):
    outside = put(caches / "secret")
    folder = caches / "home/.cache/modelscope/hub/models/Org/m"
    folder.mkdir(parents=True)
    os.symlink(outside, folder / "config.json")
    with pytest.raises(GpuwiseError, match="not in the local Hugging Face cache"):
        load_model("Org/m")


def test_a_linked_model_folder_out_of_the_cache_is_not_followed(caches):
    outside = put(caches / "secret").parent
    org = caches / "home/.cache/modelscope/hub/models/Org"
    org.mkdir(parents=True)
    os.symlink(outside, org / "m")
    with pytest.raises(GpuwiseError, match="--download"):
        load_model("Org/m")


@pytest.mark.parametrize("kind", ["fifo", "folder", "huge", "not json"])
def test_what_is_found_is_read_safely(caches, kind):
    folder = caches / "home/.cache/modelscope/hub/models/Org/m"
    folder.mkdir(parents=True)
    target = folder / "config.json"
    if kind == "fifo":
        os.mkfifo(target)
    elif kind == "folder":
        target.mkdir()
    elif kind == "huge":
        target.write_bytes(b" " * (4 * 1024 * 1024 + 1))
    else:
        target.write_text("<html>")
    with pytest.raises(GpuwiseError) as e:
        load_model("Org/m")
    assert str(target) in str(e.value) and "\n" not in str(e.value)


ids = st.from_regex(
    r"[A-Za-z0-9][A-Za-z0-9._-]{0,20}/[A-Za-z0-9][A-Za-z0-9._-]{0,20}", fullmatch=True
)


@fixture_ok
@given(name=ids)
def test_every_place_looked_is_inside_the_cache(caches, monkeypatch, name):
    monkeypatch.setenv("MODELSCOPE_CACHE", str(caches / "ms"))
    parts = hub_id_parts(name)
    if parts is None:  # a '..' in a part: refused before any path is made
        assert ".." in name
        return
    places = candidates(*parts)
    assert len(places) in (2, 4)  # two layouts, and the dotted name when it has a '.'
    for cache, path in places:
        assert cache == str(caches / "ms")
        inside = os.path.relpath(path, cache).split(os.sep)
        assert ".." not in inside and inside[-1] == "config.json" and inside[-3] == parts[0]


@fixture_ok
@given(name=st.text(max_size=30) | st.text(alphabet="ab./\\-_~ \x00\n:", max_size=12))
def test_odd_ids_are_refused_or_safe_folder_names(name):
    parts = hub_id_parts(name)
    if parts is None:
        return
    org, repo = parts
    assert f"{org}/{repo}" == name
    for part in (org, repo):
        assert part.isascii() and part[0].isalnum() and ".." not in part
        assert not set(part) - set(
            "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789._-"
        )
