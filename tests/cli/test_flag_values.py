"""Every flag of ``plan`` and ``recommend`` that takes a value, given a value that is none
(``--batch=--``, ``--gpu=--``: argparse's end-of-options marker, which it stores as an empty list
without calling the flag's type) or a malformed one ('', '-', a Unicode minus, 'nan', '1e400'):
an answer (exit 0, a finite document) or one line, exit 2, never a traceback; ``--`` as the
value is never taken."""

from __future__ import annotations

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from gpuwise.cli.main import build_parser
from tests.checks import finite_document, one_line

BASE = {
    "plan": ("plan", "llama-3.1-8b", "--gpu", "4090", "--no-search"),
    "recommend": ("recommend", "llama-3.1-8b", "--gpu", "4090"),
}
MALFORMED = ["", "--", "-", "\u22121", "nan", "1e400", "-1", "0", " "]


def _flags(command: str) -> list[str]:
    """The command's flags that take a value (every form argparse knows them by)."""
    parser = build_parser(command)
    sub = next(a for a in parser._actions if a.__class__.__name__ == "_SubParsersAction")
    actions = sub.choices[command]._actions
    return sorted(a.option_strings[-1] for a in actions if a.option_strings and a.nargs != 0)


FLAGS = [(c, f) for c in BASE for f in _flags(c)]


def test_the_flags_are_found():
    # the sweep below covers them all: the shared ones and each command's own
    names = {f for _, f in FLAGS}
    assert {"--batch", "--seq", "--gpu", "--gpus", "--grad-checkpointing"} <= names
    assert {"--concurrency", "--gpu-memory-utilization", "--budget", "--max-gpus"} <= names
    assert len(FLAGS) > 60


@pytest.mark.parametrize("flag", ["--batch", "--seq", "--gpus", "--gpu", "--grad-checkpointing"])
def test_no_value_is_one_line_naming_the_flag(cli, flag):
    one_line(cli(*BASE["plan"], f"{flag}=--"), f"argument {flag}: expected one argument")


@settings(
    max_examples=150,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)
@given(
    which=st.sampled_from(FLAGS),
    # a command line cannot carry a NUL byte (argv strings end at one)
    value=st.sampled_from(MALFORMED)
    | st.text(st.characters(exclude_characters="\x00"), max_size=3),
    infer=st.booleans(),
)
def test_a_malformed_value_is_an_answer_or_one_line(
    cli, tmp_path, monkeypatch, which, value, infer
):
    monkeypatch.chdir(tmp_path)  # --emit=- would write its files here
    command, flag = which
    task = ("--task", "infer") if infer and flag != "--task" else ()
    r = cli(*BASE[command], *task, f"{flag}={value}", "--json")
    if value.strip() == "--" or r.code != 0:
        assert "Traceback" not in r.err, r.err
        one_line(r)
    else:
        finite_document(r.out)
