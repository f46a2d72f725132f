"""Tests of the tests: none may pass because it never checked anything.

A test whose every check sits inside a loop or an ``if`` passes, silently, when the loop has no
cases or the branch is not taken (a catalogue filter that matches no card, an advice list that
came back empty). Each test must make at least one check that always runs: typically
``assert cases`` before ``for case in cases``. Loops over a non-empty literal (``for x in (a,
b)``) always run, and so does one of two branches that both check.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

TESTS = Path(__file__).resolve().parent

#: Calls that check: ``pytest.raises`` / ``warns`` / ``fail``, ``np.testing.assert_*``, ...
CHECK_CALLS = {"raises", "warns", "fail"}


def _name(call: ast.Call) -> str:
    f = call.func
    return f.attr if isinstance(f, ast.Attribute) else f.id if isinstance(f, ast.Name) else ""


def _helpers(tree: ast.AST) -> set[str]:
    """Functions of the file that assert (``_one_line_error``, a nested ``check``), and those
    it takes from tests/checks.py, the helpers several test modules share."""
    own = {
        n.name
        for n in ast.walk(tree)
        if isinstance(n, ast.FunctionDef)
        and not n.name.startswith("test")
        and any(isinstance(a, ast.Assert) for a in ast.walk(n))
    }
    shared = {
        a.asname or a.name
        for n in ast.walk(tree)
        if isinstance(n, ast.ImportFrom) and (n.module or "").split(".")[-1] == "checks"
        for a in n.names
    }
    return own | shared


def _is_check(node: ast.AST, helpers: set[str]) -> bool:
    if isinstance(node, ast.Assert):
        return True
    if isinstance(node, ast.Raise):  # ``else: raise AssertionError(...)``
        exc = node.exc.func if isinstance(node.exc, ast.Call) else node.exc
        return isinstance(exc, ast.Name) and exc.id == "AssertionError"
    if isinstance(node, ast.Call):
        name = _name(node)
        return name in CHECK_CALLS or name in helpers or name.startswith("assert")
    return False


def _checks(nodes: list[ast.stmt] | list[ast.AST], helpers: set[str]) -> bool:
    return any(_is_check(n, helpers) for node in nodes for n in ast.walk(node))


def _always_runs(loop: ast.For | ast.AsyncFor | ast.While) -> bool:
    if isinstance(loop, ast.While):
        return isinstance(loop.test, ast.Constant) and bool(loop.test.value)
    it = loop.iter
    return isinstance(it, (ast.List, ast.Tuple, ast.Set)) and bool(it.elts)


def unguarded_checks(func: ast.FunctionDef, helpers: set[str]) -> tuple[int, int]:
    """(checks that always run, checks in all) of one test function."""
    always = total = 0

    def visit(node: ast.AST, guarded: bool) -> None:
        nonlocal always, total
        for child in ast.iter_child_nodes(node):
            if isinstance(child, (ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda)):
                continue
            if _is_check(child, helpers):
                total += 1
                always += not guarded
            g = guarded
            if isinstance(child, (ast.For, ast.AsyncFor, ast.While)):
                g = guarded or not _always_runs(child)
            elif isinstance(child, ast.If):
                both = _checks(child.body, helpers) and _checks(child.orelse, helpers)
                g = guarded or not both
            elif isinstance(child, ast.ExceptHandler):
                g = True  # runs only when something raises
            elif isinstance(child, ast.Try) and _checks(child.orelse, helpers):
                # ``try: ... except E: assert ... else: raise AssertionError``: one side checks
                visit_try(child, guarded)
                continue
            visit(child, g)

    def visit_try(node: ast.Try, guarded: bool) -> None:
        nonlocal always, total
        for stmt in node.body + node.orelse + node.finalbody:
            visit(ast.Module(body=[stmt], type_ignores=[]), guarded)
        for handler in node.handlers:
            visit(ast.Module(body=handler.body, type_ignores=[]), guarded)

    visit(func, False)
    return always, total


def vacuous_tests(source: str) -> list[str]:
    """Test functions in ``source`` that check something, but only where it may never run."""
    tree = ast.parse(source)
    helpers = _helpers(tree)
    out = []
    for node in ast.walk(tree):
        if isinstance(node, ast.FunctionDef) and node.name.startswith("test"):
            always, total = unguarded_checks(node, helpers)
            if total and not always:
                out.append(f"{node.lineno} {node.name}")
    return out


VACUOUS = {
    "a loop over what may be empty": """
def test_x(items):
    for item in items:
        assert item.ok
""",
    "a branch that may not be taken": """
def test_x(doc):
    if doc["advice"]:
        assert doc["advice"][0]["fits"]
""",
    "a filter inside the loop": """
def test_x(catalog):
    for card in catalog:
        if card.segment == "geforce":
            assert card.memory_gb > 0
""",
    "a helper that asserts, called in a loop": """
def check(e):
    assert e > 0

def test_x(entries):
    for e in entries:
        check(e)
""",
    "a check only when something raises": """
def test_x():
    try:
        run()
    except ValueError as e:
        assert "bad" in str(e)
""",
}

SOUND = {
    "cases asserted first": """
def test_x(items):
    assert items
    for item in items:
        assert item.ok
""",
    "a literal list": """
def test_x():
    for seed in ("0", "1"):
        assert run(seed) > 0.95
""",
    "both branches check": """
def test_x(problem):
    if problem is None:
        assert ok()
    else:
        assert not ok()
""",
    "raise in the try's else": """
def test_x():
    for value in (1, 2):
        try:
            parse(value)
        except ValueError as e:
            assert "value" in str(e)
        else:
            raise AssertionError("accepted")
""",
    "numpy's assert in a loop after a check": """
def test_x(params):
    assert set(params) == {"W1"}
    for name, value in params.items():
        np.testing.assert_allclose(value, 0)
""",
}


@pytest.mark.parametrize("case", sorted(VACUOUS))
def test_the_scan_finds_checks_that_may_never_run(case):
    assert [hit.split()[1] for hit in vacuous_tests(VACUOUS[case])] == ["test_x"]


@pytest.mark.parametrize("case", sorted(SOUND))
def test_the_scan_accepts_checks_that_always_run(case):
    assert vacuous_tests(SOUND[case]) == []


def test_no_test_checks_only_where_it_may_never_run():
    files = sorted(TESTS.rglob("*.py"))
    assert len(files) > 30
    found = [
        f"{path.relative_to(TESTS.parent)}:{hit}"
        for path in files
        for hit in vacuous_tests(path.read_text())
    ]
    assert found == [], "assert the loop has cases (or the branch is taken) first:\n" + "\n".join(
        found
    )
