"""A model name that names nothing gets the closest presets, in one line, exit 2 (as an unknown
card name gets the closest cards); and naming a model never loads what downloading needs."""

from __future__ import annotations

import re

import pytest
from hypothesis import given
from hypothesis import strategies as st

from gpuwise.errors import GpuwiseError
from gpuwise.models import preset_names
from gpuwise.models.resolve import resolve
from tests.checks import fixture_ok, loads_none_of, one_line

SUGGESTED = re.compile(
    r"; closest presets: ([^()]+) \(`gpuwise model --list` lists every preset\)$"
)


def suggested(name: str) -> list[str]:
    """The presets the error for ``name`` suggests (the error must be one line with a list)."""
    with pytest.raises(GpuwiseError) as e:
        resolve(name)
    message = str(e.value)
    assert "\n" not in message and e.value.code == "unknown_model", message
    m = SUGGESTED.search(message)
    assert m, message
    names = m.group(1).split(", ")
    assert 1 <= len(names) <= 5 and set(names) <= set(preset_names())
    return names


def resolves(name: str) -> bool:
    try:
        resolve(name)
    except GpuwiseError:
        return False
    return True


def test_every_slug_missing_one_character_suggests_that_preset(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)  # no file of that name here
    cases = [
        (slug, slug[:i] + slug[i + 1 :])
        for slug in preset_names()
        for i in range(len(slug))
        if slug[i] not in "/"
    ]
    cases = [(slug, typo) for slug, typo in cases if not resolves(typo)]
    assert len(cases) > 100
    misses = [(slug, typo) for slug, typo in cases if slug not in suggested(typo)]
    assert not misses


separators = st.sampled_from([" ", "_", "-", ""])


@fixture_ok
@given(data=st.data())
def test_a_preset_spelled_loosely_is_suggested(tmp_path, monkeypatch, data):
    """Upper case, and spaces or underscores for its hyphens: the preset is among the five."""
    monkeypatch.chdir(tmp_path)
    slug = data.draw(st.sampled_from(preset_names()))
    parts = slug.split("-")
    glue = [data.draw(separators) for _ in parts[1:]]
    name = parts[0] + "".join(g + p for g, p in zip(glue, parts[1:], strict=True))
    name = "".join(c.upper() if data.draw(st.booleans()) else c for c in name)
    if resolves(name):  # the slug itself, an alias, or a size
        return
    assert slug in suggested(name)


def test_an_instruct_id_not_cached_suggests_its_base_preset(tmp_path, monkeypatch):
    monkeypatch.setenv("HF_HUB_CACHE", str(tmp_path))
    monkeypatch.setenv("MODELSCOPE_CACHE", str(tmp_path))
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    assert suggested("Qwen/Qwen2.5-7B-Instruct")[0] == "qwen2.5-7b"
    assert suggested("meta-llama/Llama-3.1-8B-Instruct")[0] == "llama-3.1-8b"


def test_cli_line(cli):
    r = cli("model", "qwen2.5-7")
    one_line(r, "unknown model 'qwen2.5-7'", "closest presets: qwen2.5-7b")
    r = cli("plan", "mixtrall", "--json")
    one_line(r, "closest presets: mixtral-8x7b")
    assert r.json()["error"]["code"] == "unknown_model"


def test_naming_models_loads_no_network_code(tmp_path):
    """Presets, files, sizes, cached ids and unknown names: urllib is loaded only for
    --download."""
    loads_none_of(
        "import os\n"
        f"os.environ['XDG_CACHE_HOME'] = {str(tmp_path)!r}\n"
        f"os.environ['MODELSCOPE_CACHE'] = {str(tmp_path)!r}\n"
        "from gpuwise.cli.main import main\n"
        "for args in (['model', 'qwen2.5-7b', '--json'], ['model', 'acme/x', '--json'],\n"
        "             ['model', 'nothing-like-it'], ['plan', '7b', '--json'],\n"
        "             ['recommend', 'llama-3.2-1b', '--json']):\n"
        "    main(args)\n",
        ("urllib.request", "http.client", "socket", "ssl"),
    )
