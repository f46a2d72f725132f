"""A price file, however it is broken, is one line and exit 2; a price that is taken is a
finite, sensible amount, so no cost or tokens-per-dollar is ever infinite.

Issue 11, hardening items 4, 5 and 6 for ``--prices``.
"""

from __future__ import annotations

import json
import math
import os
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from ..bounded import gpuwise_process
from ..checks import finite_document, fixture_ok, one_line

RECOMMEND = ("recommend", "gpt2", "--gpu", "3090", "--max-gpus", "1", "--tokens", "1B")


def price_file(tmp_path, text: str) -> str:
    path = tmp_path / "prices.json"
    path.write_text(text)
    return str(path)


@pytest.mark.parametrize(
    ("text", "says"),
    [
        ('{"currency": "usd", "cards": ' + "[" * 100_000 + "]" * 100_000 + "}", "nested"),
        ('{"currency": "usd", "cards": {"3090": {"buy": ' + "7" * 5000 + "}}}", "5000 digits"),
        ('{"currency": "usd", "cards": {"3090": {"buy": ' + "7" * 400 + "}}}", "400 digits"),
        ('{"currency": "usd", "cards": {"3090": {"buy": NaN}}}', "NaN"),
        ('{"currency": "usd", "cards": {"3090": {"hourly": Infinity}}}', "Infinity"),
        ('{"currency": "usd", "cards": {"3090": {"buy": 1e400}}}', "64-bit float"),
        ('{"currency": "usd", "cards": {"3090": {"buy": 5e-324}}}', "from 0.01"),
        ('{"currency": "usd", "cards": {"3090": {"hourly": 1e-300}}}', "from 0.01"),
        ('{"currency": "usd", "cards": {"3090": {"buy": 1e300}}}', "to 1e+09"),
        ('{"currency": "usd", "cards": {"3090": {"buy": -0.0}}}', "from 0.01"),
        ('{"currency": ["usd"], "cards": {}}', "not usd or cny"),
        ('{"currency": "usd", "cards": {"3090": {"buy": 700, "note": "a\\nb"}}}', "one line"),
        ('{"currency": "usd", "cards": {"3090": {"buy": 700, "note": 7}}}', "note"),
    ],
)
def test_hostile_price_files_are_one_line(cli, tmp_path, text, says):
    one_line(cli(*RECOMMEND, "--prices", price_file(tmp_path, text), "--json"), says)


def test_a_fifo_or_device_is_one_line_without_a_hang_or_an_endless_read(tmp_path):
    """Their own processes, bounded: a plain read of a FIFO waits for a writer for ever, one of
    /dev/zero reads until memory runs out."""
    fifo = tmp_path / "fifo.json"
    os.mkfifo(fifo)
    env = {"XDG_CONFIG_HOME": str(tmp_path / "no-config")}
    for path, says in ((fifo, "FIFO"), (Path("/dev/zero"), "device")):
        if not path.exists():
            continue
        r = gpuwise_process(*RECOMMEND, "--prices", str(path), env=env)
        assert r.returncode == 2 and r.stderr.count("\n") == 1 and says in r.stderr, r.stderr


def test_a_folder_or_long_name_is_one_line(cli, tmp_path):
    one_line(cli(*RECOMMEND, "--prices", str(tmp_path)), "folder")
    one_line(cli(*RECOMMEND, "--prices", "p" * 300), "too long")


def test_a_price_file_over_the_limit_is_refused(cli, tmp_path, monkeypatch):
    from gpuwise import files

    path = price_file(tmp_path, json.dumps({"currency": "usd", "cards": {"3090": {"buy": 700}}}))
    monkeypatch.setitem(files.LIMITS, "prices", os.path.getsize(path) - 1)
    one_line(cli(*RECOMMEND, "--prices", path), "limit")


amounts = (
    st.floats(allow_nan=False, allow_infinity=False)
    | st.sampled_from([5e-324, 2.2250738585072014e-308, 1e-300, 0.0099, 0.01, 1e9, 1.0000001e9])
    | st.integers(-(10**12), 10**12)
)


@fixture_ok
@given(key=st.sampled_from(["buy", "hourly"]), amount=amounts)
def test_any_price_is_refused_or_costs_finitely(cli, tmp_path, key, amount):
    path = price_file(tmp_path, json.dumps({"currency": "usd", "cards": {"3090": {key: amount}}}))
    r = cli(*RECOMMEND, "--prices", path, "--json")
    if 0.01 <= amount <= 1e9:
        assert r.code == 0, r.err
        options = finite_document(r.out)["options"]
        costed = [o for o in options if o["cost"] is not None]
        assert costed, "a priced card gives costed options"
        assert all(0 < o["cost"] < math.inf for o in costed)
    else:
        one_line(r, f"{key} is")
