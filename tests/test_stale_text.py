"""Text and settings that said something false about the project stay gone: promises of work
"in a later issue" that has been done, a package docstring that said only its first part
existed, and a pytest marker no test uses."""

from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
#: Phrases that were false when found (issue 11): ``probe --measure`` called "a later issue"
#: after it shipped, ``gpuwise.memory`` described as "weights now" with every part written.
STALE = ("a later issue", "weights now")
#: Markers pytest itself defines.
BUILTIN_MARKERS = {"parametrize", "skip", "skipif", "xfail", "usefixtures", "filterwarnings"}


def _text_files() -> list[Path]:
    out = [ROOT / "README.md"]
    for folder, pattern in (("src", "*.py"), ("docs", "*.md"), ("scripts", "*.py")):
        out += sorted((ROOT / folder).rglob(pattern))
    return [p for p in out if "docs/research" not in p.as_posix()]


def test_no_stale_promises():
    files = _text_files()
    assert len(files) > 50
    found = [
        f"{p.relative_to(ROOT)}: {phrase!r}"
        for p in files
        for phrase in STALE
        if phrase in " ".join(p.read_text().split()).lower()
    ]
    assert found == []


def _used_markers() -> set[str]:
    """Names X of every ``pytest.mark.X`` in the tests."""
    used = set()
    for path in (ROOT / "tests").rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text())):
            if (
                isinstance(node, ast.Attribute)
                and isinstance(node.value, ast.Attribute)
                and node.value.attr == "mark"
                and isinstance(node.value.value, ast.Name)
                and node.value.value.id == "pytest"
            ):
                used.add(node.attr)
    return used


def test_registered_markers_are_the_ones_the_tests_use():
    tomllib = pytest.importorskip("tomllib")  # Python 3.11+
    options = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["pytest"]
    registered = {
        re.split(r"[:(]", m, maxsplit=1)[0].strip()
        for m in options["ini_options"].get("markers", [])
    }
    used = _used_markers()
    assert "parametrize" in used  # the scan reads the tests
    assert registered == used - BUILTIN_MARKERS
