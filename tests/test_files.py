"""gpuwise.files: every file a user gives gpuwise is read once, bounded, and parsed safely.

What users rely on: a FIFO, a device or a folder named as a file is one line, never a hang or a
read without end; a file over its size limit is refused; bad JSON, JSON nested without end,
NaN / Infinity, floats beyond a double and integers of thousands of digits are one line each,
never a RecursionError or Python's int-digit ValueError; and nothing a sane file holds is
refused.
"""

from __future__ import annotations

import ast
import json
import math
import os
import time
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from gpuwise import files
from gpuwise.errors import GpuwiseError

from .checks import all_finite

WHERE, EXPECTED = "the file", "a thing"


def refused(call, *args, **kwargs) -> str:
    with pytest.raises(GpuwiseError) as e:
        call(*args, **kwargs)
    message = str(e.value)
    assert "\n" not in message and message.startswith(WHERE)
    return message


def parse(text: str):
    return files.parse_json(text, WHERE, EXPECTED)


# -- reading ------------------------------------------------------------------------------------


def test_a_fifo_is_refused(tmp_path):
    """(That it is refused without waiting for a writer is shown by the commands' tests, in
    processes of their own; here a writer is held open so that a regression cannot hang.)"""
    fifo = tmp_path / "cards.json"
    os.mkfifo(fifo)
    writer = os.open(fifo, os.O_RDWR | os.O_NONBLOCK)
    try:
        assert "FIFO" in refused(files.read_bytes, fifo, WHERE, EXPECTED, 1024)
    finally:
        os.close(writer)


@pytest.mark.parametrize(("path", "says"), [("/dev/zero", "device"), ("/", "folder")])
def test_devices_and_folders_are_refused(path, says):
    if not os.path.exists(path):
        pytest.skip(f"{path} is not on this system")
    assert says in refused(files.read_bytes, path, WHERE, EXPECTED, 1024)


def test_the_size_limit_is_exact(tmp_path):
    path = tmp_path / "f.json"
    path.write_bytes(b"x" * 100)
    assert files.read_bytes(path, WHERE, EXPECTED, 100) == b"x" * 100
    assert "over the 99 bytes limit" in refused(files.read_bytes, path, WHERE, EXPECTED, 99)


def test_missing_and_unnameable_files_are_one_line(tmp_path):
    assert "no such file" in refused(files.read_bytes, tmp_path / "nope", WHERE, EXPECTED, 10)
    assert "too long" in refused(files.read_bytes, "x" * 300, WHERE, EXPECTED, 10)
    assert "file name" in refused(files.read_bytes, "a\0b", WHERE, EXPECTED, 10)


def test_absent_ok_is_none_only_for_what_is_not_there(tmp_path):
    blocker = tmp_path / "a-file"
    blocker.write_text("{}")
    for absent in (tmp_path / "nope", blocker / "below-a-file", "x" * 300):
        assert files.read_bytes(absent, WHERE, EXPECTED, 10, absent_ok=True) is None
    # something that is there but is not a file is still an error
    assert "folder" in refused(files.read_bytes, tmp_path, WHERE, EXPECTED, 10, absent_ok=True)


@pytest.mark.skipif(os.geteuid() == 0, reason="root reads files whatever their mode")
def test_an_unreadable_file_is_an_error_even_when_it_may_be_absent(tmp_path):
    path = tmp_path / "cards.json"
    path.write_text("{}")
    path.chmod(0)
    assert "cannot open" in refused(files.read_bytes, path, WHERE, EXPECTED, 10, absent_ok=True)


def test_text_must_be_utf8():
    assert "not UTF-8" in refused(files.decode, b'{"a": "\xff"}', WHERE, EXPECTED)
    assert files.decode(b'\xef\xbb\xbf{"a": 1}', WHERE, EXPECTED) == '{"a": 1}'  # a BOM


# -- parsing ------------------------------------------------------------------------------------


@pytest.mark.parametrize("depth", [65, 1000, 100_000])
def test_deep_nesting_is_refused(depth):
    for opener, closer in (("[", "]"), ('{"a":', "}")):
        text = opener * depth + "1" + closer * depth
        assert "nested deeper than 64" in refused(parse, text)


def test_nesting_up_to_the_limit_parses():
    text = "[" * files.MAX_DEPTH + "]" * files.MAX_DEPTH
    assert parse(text) is not None
    # brackets inside strings are text, not nesting
    assert parse(json.dumps({"a": "[" * 5000})) == {"a": "[" * 5000}


@pytest.mark.parametrize(
    ("number", "says"),
    [
        ("1" * 5000, "5000 digits"),
        ("-" + "9" * 41, "41 digits"),
        ("NaN", "NaN"),
        ("Infinity", "Infinity"),
        ("-Infinity", "-Infinity"),
        ("1e400", "beyond a 64-bit float"),
        ("-1.5e309", "beyond a 64-bit float"),
    ],
)
def test_numbers_json_should_not_hold_are_one_line(number, says):
    assert says in refused(parse, '{"memory_gb": ' + number + "}")


def test_lone_surrogates_are_refused_and_pairs_kept():
    assert "surrogate" in refused(parse, '{"name": "\\ud800"}')
    assert "surrogate" in refused(parse, '{"\\udfff": 1}')
    assert parse('{"name": "\\ud83d\\ude00"}') == {"name": "\U0001f600"}


def test_the_nesting_check_stays_linear_on_hostile_strings():
    """Unterminated strings full of escaped quotes: a scan that restarted at each quote would
    take hours on this text."""
    text = "[" * 70 + '"' + '\\"' * 1_000_000 + "\\"
    started = time.monotonic()
    with pytest.raises(GpuwiseError):
        parse(text)
    assert time.monotonic() - started < 5


json_leaf = (
    st.none()
    | st.booleans()
    | st.integers(-(10**40) + 1, 10**40 - 1)
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(max_size=10)
)
json_doc = st.recursive(
    json_leaf,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=6), inner),
    max_leaves=20,
)


@settings(max_examples=150, deadline=None)
@given(doc=json_doc)
def test_every_sane_document_parses_to_itself(doc):
    assert parse(json.dumps(doc)) == doc


@settings(max_examples=300, deadline=None)
@given(
    text=st.text(max_size=80)
    | st.lists(
        st.sampled_from(['{"a":', "[", "]", "}", ",", "1e400", "NaN", "1" * 60, '"\\ud800"', "0"]),
        max_size=40,
    ).map("".join)
)
def test_any_text_is_a_value_or_one_line(text):
    try:
        doc = parse(text)
    except GpuwiseError as e:
        assert "\n" not in str(e) and str(e).startswith(WHERE)
        return
    # whatever parses holds only finite numbers
    assert not isinstance(doc, float) or math.isfinite(doc)
    all_finite(doc)


@settings(
    max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(size=st.integers(2, 3000), limit=st.integers(1, 3000))
def test_read_json_reads_what_fits_and_refuses_what_does_not(tmp_path, size, limit):
    path = tmp_path / "f.json"
    path.write_text(json.dumps("x" * (size - 2)))  # size bytes
    if size <= limit:
        assert files.read_json(path, WHERE, EXPECTED, limit) == "x" * (size - 2)
    else:
        assert "limit" in refused(files.read_json, path, WHERE, EXPECTED, limit)


# -- where the user's files are -----------------------------------------------------------------


def test_no_home_folder_means_no_default_file(monkeypatch):
    import pwd

    monkeypatch.delenv("HOME", raising=False)
    monkeypatch.delenv("XDG_CONFIG_HOME", raising=False)

    def no_entry(uid):
        raise KeyError(uid)

    monkeypatch.setattr(pwd, "getpwuid", no_entry)
    assert files.home() is None
    assert files.user_dir("XDG_CONFIG_HOME", ".config") is None
    monkeypatch.setenv("XDG_CONFIG_HOME", "/somewhere")
    assert files.user_dir("XDG_CONFIG_HOME", ".config") == "/somewhere"


def test_files_imports_only_the_standard_library():
    """The fast path reads configs through gpuwise.files: it must add no heavy import (the
    standard library's light modules; gpuwise's errors, units and messages, which import
    nothing else)."""
    tree = ast.parse(Path(files.__file__).read_text())
    imported = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            imported |= {a.name for a in node.names}
        elif isinstance(node, ast.ImportFrom):
            imported.add(node.module or "")
    assert imported, "the module imports something"
    assert imported <= {
        "__future__",
        "errno",
        "itertools",
        "json",
        "math",
        "os",
        "re",
        "stat",
        "typing",
    } | {"gpuwise.errors", "gpuwise.units", "gpuwise.i18n"}
