"""The user's card file, however it is broken, is one line and exit 2; the default one never
stops a command that cannot even look for it.

Issue 11, hardening items 4, 5 and 6: a required field overridden with null, ``source`` of the
wrong shape, deep nesting and 5,000-digit integers, figures that are subnormal, infinite,
negative or leave no usable memory, a slug or compute capability with a newline, a file name
over 255 characters, a FIFO or a device, and a missing or unusable home folder.
"""

from __future__ import annotations

import json
import os
import pwd

import pytest
from hypothesis import given
from hypothesis import strategies as st

from gpuwise.catalog.card import FIGURE_FIELDS

from ..bounded import gpuwise_process
from ..checks import fixture_ok, one_line

NEW_CARD = {
    "slug": "my-card",
    "name": "My Card",
    "compute_capability": "8.6",
    "memory_gb": 24,
    "bandwidth_gb_s": 900,
    "fp32_tflops": 30,
    "tdp_w": 300,
}
#: Every card needs these: what a new card must give (NEW_CARD, docs/catalog.md), and what
#: the catalogue's cards all have besides.
REQUIRED = (*(k for k in NEW_CARD if k != "slug"), "series", "segment", "architecture")
#: Commands that look at the default user card file, each made quick.
COMMANDS = (
    ("gpus", "--json"),
    ("gpu", "3090", "--json"),
    ("plan", "gpt2", "--gpu", "3090", "--no-search", "--json"),
    ("recommend", "gpt2", "--gpu", "3090", "--max-gpus", "1", "--json"),
    ("doctor", "--card", "3090", "--driver", "550.54", "--json"),
)


def card_file(tmp_path, cards, extra=None, name="cards.json") -> str:
    path = tmp_path / name
    path.write_text(json.dumps({"cards": cards, **(extra or {})}))
    return str(path)


def raw_file(tmp_path, text: str) -> str:
    path = tmp_path / "cards.json"
    path.write_text(text)
    return str(path)


# -- item 4: tracebacks -------------------------------------------------------------------------


@pytest.mark.parametrize("field", REQUIRED)
def test_an_override_cannot_set_a_required_field_to_null(cli, tmp_path, field):
    path = card_file(tmp_path, [{"slug": "rtx-3090", field: None}])
    one_line(cli("gpu", "3090", "--catalog", path, "--json"), field, "cannot be null")
    # a new card cannot either: its defaults (series, segment) are not to be nulled
    path = card_file(tmp_path, [{**NEW_CARD, field: None}])
    one_line(cli("gpus", "--catalog", path, "--json"), field)


@pytest.mark.parametrize(
    "card",
    [
        {"slug": "rtx-3090", "memory_gb": 23, "source": ["ref"]},
        {"slug": "rtx-3090", "memory_gb": 23, "source": "ref"},
        {"slug": "rtx-3090", "memory_gb": 23, "source": {"default": ["ref"]}},
        {"slug": "rtx-3090", "memory_gb": 23, "source": {"default": 3}},
        {"slug": "rtx-3090", "memory_gb": 23, "source": {"colour": "ref"}},
        {"slug": "rtx-3090", "crosscheck_exceptions": ["memory_gb"]},
        {"slug": "rtx-3090", "crosscheck_exceptions": {"memory_gb": {"why": 1}}},
    ],
)
def test_source_must_map_fields_to_source_keys(cli, tmp_path, card):
    path = card_file(tmp_path, [card], {"sources": {"ref": {"title": "mine", "url": None}}})
    one_line(cli("gpu", "3090", "--catalog", path, "--json"), "must be an object")


@pytest.mark.parametrize("entry", ["a string", ["title"], {"url": None}, {"title": 1}])
def test_each_source_is_a_title_and_a_url(cli, tmp_path, entry):
    card = {"slug": "rtx-3090", "memory_gb": 23, "source": {"default": "ref"}}
    path = card_file(tmp_path, [card], {"sources": {"ref": entry}})
    one_line(cli("gpu", "3090", "--catalog", path, "--json"), "source ref")


@pytest.mark.parametrize(
    ("text", "says"),
    [
        ('{"cards": ' + "[" * 100_000 + "]" * 100_000 + "}", "nested deeper"),
        ('{"cards": [{"slug": "rtx-3090", "memory_gb": ' + "1" * 5000 + "}]}", "5000 digits"),
        ('{"cards": [{"slug": "rtx-3090", "memory_gb": NaN}]}', "NaN"),
        ('{"cards": [{"slug": "rtx-3090", "memory_gb": 1e400}]}', "64-bit float"),
        ('{"cards": [{"slug": "rtx-3090", "name": "\\ud800"}]}', "surrogate"),
    ],
)
def test_hostile_json_in_the_card_file_is_one_line(cli, tmp_path, monkeypatch, text, says):
    path = raw_file(tmp_path, text)
    one_line(cli("gpus", "--catalog", path), says)
    monkeypatch.setenv("GPUWISE_CATALOG", path)
    one_line(cli("gpus"), says)


def test_names_over_255_characters_are_one_line(cli, tmp_path, monkeypatch):
    long = "c" * 300 + ".json"
    one_line(cli("gpus", "--catalog", long), "--catalog", "no such file")
    one_line(cli("gpus", "--catalog", str(tmp_path / long)), "no such file")
    monkeypatch.setenv("GPUWISE_CATALOG", long)
    one_line(cli("gpus"), "GPUWISE_CATALOG", "no such file")
    monkeypatch.delenv("GPUWISE_CATALOG")
    one_line(cli("gpu", "x" * 5000), "unknown card", "5000 characters")


# -- item 5: only regular files, bounded ---------------------------------------------------------


def test_a_fifo_device_or_folder_is_refused_without_a_hang(tmp_path):
    """Their own processes, bounded: a plain read of a FIFO waits for a writer for ever, one of
    /dev/zero reads until memory runs out."""
    fifo = tmp_path / "fifo.json"
    os.mkfifo(fifo)
    cases = [(str(fifo), "FIFO"), (str(tmp_path), "folder")]
    if os.path.exists("/dev/zero"):
        cases.append(("/dev/zero", "device"))
    assert len(cases) >= 2
    for name, says in cases:
        r = gpuwise_process("gpus", "--catalog", name)
        assert r.returncode == 2 and "Traceback" not in r.stderr, r.stderr
        assert r.stderr.count("\n") == 1 and says in r.stderr, r.stderr


def test_a_card_file_over_the_limit_is_refused(cli, tmp_path, monkeypatch):
    from gpuwise import files

    path = card_file(tmp_path, [NEW_CARD])
    size = os.path.getsize(path)
    monkeypatch.setitem(files.LIMITS, "cards", size)
    assert cli("gpus", "--catalog", path, "--json").code == 0
    monkeypatch.setitem(files.LIMITS, "cards", size - 1)
    one_line(cli("gpus", "--catalog", path, "--json"), "limit")


# -- item 6: finite, meaningful numbers ----------------------------------------------------------

EXTREMES = ["5e-324", "1e-300", "0", "-0", "-1", "-24", "0.0009", "10000001", "1e308"]


@fixture_ok
@given(field=st.sampled_from(FIGURE_FIELDS), value=st.sampled_from(EXTREMES))
def test_figures_outside_their_range_are_refused(cli, tmp_path, field, value):
    path = raw_file(tmp_path, f'{{"cards": [{{"slug": "rtx-3090", "{field}": {value}}}]}}')
    one_line(cli("gpu", "3090", "--catalog", path, "--json"), field)


@fixture_ok
@given(
    field=st.sampled_from(
        [f for f in FIGURE_FIELDS if f not in ("memory_gb", "pytorch_total_memory_mib")]
    ),
    value=st.integers(1, 10_000) | st.floats(1.0, 1e4),
)
def test_figures_in_range_are_taken_as_given(cli, tmp_path, field, value):
    if field in ("memory_bus_bits", "pcie_gen", "pcie_lanes"):
        value = int(value)
    path = card_file(tmp_path, [{"slug": "rtx-3090", field: value}])
    r = cli("gpu", "3090", "--catalog", path, "--json")
    assert r.code == 0, r.err
    assert r.json()[field] == value


@fixture_ok
@given(
    good=st.sampled_from(["8.6", "12.0", "7.5"]),
    junk=st.sampled_from(["\n", " ", "\t", "\r", "\x00", "\x1b", "\u2028", "\x85", "\xa0"]),
)
def test_a_compute_capability_or_slug_with_whitespace_or_control_chars_is_refused(
    cli, tmp_path, good, junk
):
    path = card_file(tmp_path, [{"slug": "rtx-3090", "compute_capability": good + junk}])
    one_line(cli("gpu", "3090", "--catalog", path, "--json"), "compute_capability")
    path = card_file(tmp_path, [{**NEW_CARD, "slug": "my-card" + junk}])
    one_line(cli("gpus", "--catalog", path, "--json"), "slug")


@fixture_ok
@given(memory_gb=st.floats(0.001, 0.63))
def test_a_memory_that_leaves_nothing_usable_is_refused(cli, tmp_path, memory_gb):
    path = card_file(tmp_path, [{**NEW_CARD, "memory_gb": memory_gb}])
    one_line(cli("gpus", "--catalog", path, "--json"), "no usable memory")


def test_the_smallest_usable_memory_is_accepted(cli, tmp_path):
    path = card_file(tmp_path, [{**NEW_CARD, "memory_gb": 0.64}])
    r = cli("gpu", "my-card", "--catalog", path, "--json")
    assert r.code == 0 and r.json()["usable_memory_bytes"] > 0


def test_pytorch_cannot_see_more_memory_than_is_sold(cli, tmp_path):
    path = card_file(tmp_path, [{"slug": "rtx-3090", "pytorch_total_memory_mib": 30000}])
    one_line(cli("gpu", "3090", "--catalog", path), "pytorch_total_memory_mib", "more than")


def test_a_new_memory_size_is_not_planned_with_the_old_printout(cli, tmp_path):
    """A 3090 modded to 48 GB: the catalogue's 24268 MiB printout was of the 24 GB card."""
    path = card_file(tmp_path, [{"slug": "rtx-3090", "memory_gb": 48}])
    card = cli("gpu", "3090", "--catalog", path, "--json").json()
    assert card["pytorch_total_memory_mib"] is None and not card["usable_memory_measured"]
    assert 47 * (1 << 30) < card["usable_memory_bytes"] < 48 * (1 << 30)
    assert "pytorch_total_memory_mib" not in card["sources"]
    # the same memory as catalogued keeps the printout
    path = card_file(tmp_path, [{"slug": "rtx-3090", "memory_gb": 24}])
    card = cli("gpu", "3090", "--catalog", path, "--json").json()
    assert card["pytorch_total_memory_mib"] == 24268 and card["usable_memory_measured"]


# -- the default user card file and the home folder ----------------------------------------------


def _no_home(monkeypatch):
    monkeypatch.delenv("HOME", raising=False)
    monkeypatch.delenv("XDG_CONFIG_HOME", raising=False)
    monkeypatch.delenv("XDG_CACHE_HOME", raising=False)

    def no_entry(uid):
        raise KeyError(uid)

    monkeypatch.setattr(pwd, "getpwuid", no_entry)


@pytest.mark.parametrize("args", COMMANDS, ids=[c[0] for c in COMMANDS])
def test_every_command_runs_without_a_home_folder(cli, monkeypatch, args):
    _no_home(monkeypatch)
    r = cli(*args)
    assert r.code == 0 and "Traceback" not in r.err, r.err
    json.loads(r.out)


@pytest.mark.parametrize("args", COMMANDS, ids=[c[0] for c in COMMANDS])
def test_every_command_runs_with_home_pointing_at_a_file(cli, tmp_path, monkeypatch, args):
    home = tmp_path / "home"
    home.write_text("not a folder")
    monkeypatch.setenv("HOME", str(home))
    monkeypatch.delenv("XDG_CONFIG_HOME", raising=False)
    r = cli(*args)
    assert r.code == 0 and "Traceback" not in r.err, r.err


@pytest.mark.parametrize("args", COMMANDS, ids=[c[0] for c in COMMANDS])
def test_a_default_card_file_that_is_no_file_is_one_line(cli, tmp_path, monkeypatch, args):
    config = tmp_path / "config"
    (config / "gpuwise" / "cards.json").mkdir(parents=True)
    monkeypatch.setenv("XDG_CONFIG_HOME", str(config))
    one_line(cli(*args), "cards.json", "folder")


def test_the_default_card_file_is_read_like_any_other(cli, tmp_path, monkeypatch):
    config = tmp_path / "config"
    (config / "gpuwise").mkdir(parents=True)
    path = config / "gpuwise" / "cards.json"
    monkeypatch.setenv("XDG_CONFIG_HOME", str(config))
    path.write_text(json.dumps({"cards": [{"slug": "rtx-3090", "launch_price_usd": 650}]}))
    assert cli("gpu", "3090", "--json").json()["launch_price_usd"] == 650
    path.write_text('{"cards": [{"slug": "rtx-3090", "memory_gb": ' + "9" * 5000 + "}]}")
    one_line(cli("gpu", "3090", "--json"), str(path), "5000 digits")


@pytest.mark.skipif(os.geteuid() == 0, reason="root searches folders whatever their mode")
def test_an_unsearchable_config_folder_is_no_default_file(cli, tmp_path, monkeypatch):
    config = tmp_path / "config"
    (config / "gpuwise").mkdir(parents=True)
    (config / "gpuwise" / "cards.json").write_text("{}")
    monkeypatch.setenv("XDG_CONFIG_HOME", str(config))
    config.chmod(0)
    try:
        r = cli("gpus", "--json")
    finally:
        config.chmod(0o755)
    assert r.code == 0, r.err


@pytest.mark.parametrize("args", COMMANDS, ids=[c[0] for c in COMMANDS])
def test_an_unreadable_default_card_file_is_one_line(cli, tmp_path, monkeypatch, args):
    """(Root reads any file, so the refusal is simulated: os.open of that one file fails.)"""
    config = tmp_path / "config"
    (config / "gpuwise").mkdir(parents=True)
    path = config / "gpuwise" / "cards.json"
    path.write_text('{"cards": []}')
    monkeypatch.setenv("XDG_CONFIG_HOME", str(config))
    real_open = os.open

    def refusing_open(name, *rest, **kw):
        if os.fspath(name) == str(path):
            raise PermissionError(13, "Permission denied", str(name))
        return real_open(name, *rest, **kw)

    monkeypatch.setattr(os, "open", refusing_open)
    one_line(cli(*args), str(path), "Permission denied")
