"""With ``--json`` a script gets one JSON document on stdout whatever happens: the result, or an
error document with a stable code; the one line on stderr and the exit code stay as they are."""

from __future__ import annotations

import json
import math
import re
import unicodedata
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from gpuwise._version import SCHEMA_VERSION, __version__
from gpuwise.errors import ERROR_CODES, GpuwiseError, InternalError
from gpuwise.render.document import dumps

README = Path(__file__).resolve().parents[2] / "README.md"


def error_doc(r) -> dict:
    """The error document of a failed run, checked against its stderr line."""
    doc = json.loads(r.out)
    assert set(doc) == {"schema_version", "gpuwise_version", "error"}
    assert doc["schema_version"] == SCHEMA_VERSION and doc["gpuwise_version"] == __version__
    assert set(doc["error"]) == {"code", "message"} and doc["error"]["code"] in ERROR_CODES
    assert r.err.count("\n") == 1 and "Traceback" not in r.err
    line = r.err.split(": error: ", 1)[1].rstrip("\n")
    # the stderr line is the message, with characters a terminal acts on written as escapes
    assert line == "".join(
        c if unicodedata.category(c) not in {"Cc", "Cf", "Cs", "Zl", "Zp"} else repr(c)[1:-1]
        for c in doc["error"]["message"]
    )
    return doc["error"]


@pytest.mark.parametrize(
    "args,code,says",
    [
        (("gpu", "rtx 4095"), "unknown_card", "unknown card"),
        (("model", "no-such-model"), "unknown_model", "unknown model"),
        (("gpus", "--sort", "colour"), "invalid_input", "cannot sort by"),
        (("plan", "gpt2", "--batch", "0"), "invalid_input", "batch"),
        (("gpus", "--min-memory", "lots"), "usage", "invalid float"),
        (("gpus", "--frobnicate"), "usage", "unrecognized arguments"),
        (("frobnicate",), "usage", "invalid choice"),
    ],
)
def test_json_error_document(cli, args, code, says):
    r = cli(*args, "--json")
    assert r.code == 2
    error = error_doc(r)
    assert error["code"] == code and says in error["message"]
    # without --json nothing is printed on stdout, and the line is the same
    plain = cli(*args)
    assert plain.code == 2 and plain.out == "" and plain.err == r.err


@pytest.mark.parametrize("flag", ["--js", "--jso"])
def test_an_abbreviated_json_flag_asks_for_the_error_document(cli, flag):
    r = cli("gpus", "--sort", "colour", flag)
    assert r.code == 2 and error_doc(r)["code"] == "invalid_input"


@settings(
    max_examples=100, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(name=st.text(max_size=20))
def test_any_card_name_gives_one_json_document(cli, name):
    r = cli("gpu", "--json", name)
    assert r.code in (0, 2)
    if r.code == 0:
        assert "error" not in r.json() and r.err == ""
    else:
        assert error_doc(r)["message"]


def test_every_code_is_documented_in_the_readme():
    text = README.read_text(encoding="utf-8")
    section = text[text.index("## JSON output") :]
    assert ERROR_CODES
    for code in ERROR_CODES:
        assert f"`{code}`" in section, code


def test_an_error_code_is_one_of_the_documented_set():
    assert GpuwiseError("bad").code == "invalid_input"
    assert GpuwiseError("bad", code="unknown_card").code == "unknown_card"
    with pytest.raises(ValueError, match="unknown error code"):
        GpuwiseError("bad", code="oops")


# JSON values as gpuwise writes them: text of any kind, whole numbers, finite floats.
VALUES = st.recursive(
    st.none()
    | st.booleans()
    | st.integers()
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(st.characters(exclude_categories=())),
    lambda inner: (
        st.lists(inner, max_size=4)
        | st.dictionaries(
            st.text(st.characters(exclude_categories=()), max_size=8), inner, max_size=4
        )
    ),
    max_leaves=20,
)
ACTING = re.compile("[\x7f-\x9f\u2028\u2029\u202a-\u202e\u2066-\u2069\ud800-\udfff]")


@settings(max_examples=200, deadline=None)
@given(doc=st.dictionaries(st.text(max_size=8), VALUES, max_size=4))
def test_json_output_is_valid_safe_and_the_same_data(doc):
    text = dumps(doc)
    assert json.loads(text) == doc
    assert not ACTING.search(text)
    text.encode("utf-8")  # no lone surrogate: it can be printed


@settings(max_examples=100, deadline=None)
@given(
    doc=st.dictionaries(st.text(max_size=8), VALUES, max_size=4),
    bad=st.sampled_from([math.nan, math.inf, -math.inf]),
    key=st.text(min_size=1, max_size=8),
)
def test_a_non_finite_number_is_an_internal_error_naming_where(doc, bad, key):
    doc = {**doc, "cards": [{"time": {key: bad}}]}
    with pytest.raises(InternalError) as e:
        dumps(doc)
    assert e.value.exit_code == 1 and e.value.code == "internal_error"
    assert f"cards[0].time.{key} = {bad}" in str(e.value)


def test_a_nan_reaching_the_output_is_one_line_and_an_error_document(cli, monkeypatch):
    import gpuwise.cli.gpu as gpu_cli

    real = gpu_cli.card_doc

    def broken(*args):
        return {**real(*args), "bandwidth_gb_s": math.nan}

    monkeypatch.setattr(gpu_cli, "card_doc", broken)
    r = cli("gpu", "3090", "--json")
    assert r.code == 1
    error = error_doc(r)
    assert error["code"] == "internal_error" and "bandwidth_gb_s = nan" in error["message"]
    assert "NaN" not in r.out
