"""The package's layers point one way, and its public names are what the README promises.

Each package may import only packages of a lower layer (and the few same-layer pairs listed),
anywhere in a module, function bodies included: a memory model that reached up into timing or
the command line would tangle every future face (web page, other languages) with it.
"""

from __future__ import annotations

import ast
import importlib
from pathlib import Path

import pytest

import gpuwise

from .checks import loads_none_of

PACKAGE = Path(gpuwise.__file__).parent

#: Lower number, lower layer. Modules directly under gpuwise/ count as packages of their name.
LAYERS = {
    # the messages every layer speaks through (errors included): below them all
    "i18n": -1,
    "_version": 0,
    "errors": 0,
    "units": 0,
    "visible": 0,
    "packaged": 1,
    "files": 1,
    "record": 1,
    "catalog": 2,
    "models": 2,
    "parallel": 3,
    "workload": 3,
    "frameworks": 3.5,  # training frameworks' defaults, applied to a workload
    "memory": 4,
    "timing": 5,
    "infer": 5.5,  # llama.cpp / Ollama: on memory and timing's types, below plan
    "plan": 6,
    "cluster": 6.5,  # several nodes: layouts, their memory and time (on memory and timing)
    "recommend": 7,
    "engines": 7,
    "probe": 7,
    "doctor": 7,
    "mnist": 7,
    "explain": 7,
    "bench": 8,
    "render": 9,
    "cli": 10,
    # the web page: the commands' own parsers and documents (cli/<command>.py), served
    "web": 10.5,
    "__main__": 11,
    "__init__": 11,
}

#: Imports that point up, each module with the packages it may reach and why: `gpuwise serve`
#: is a command (cli/) that starts the web page, which is built on the commands themselves.
UPWARD = {
    "cli/serve.py": {"web"},
    "cluster/recommend.py": {"recommend"},  # PriceBook, a type only (TYPE_CHECKING)
}


def _package_of(module: str) -> str | None:
    parts = module.split(".")
    if parts[0] != "gpuwise":
        return None
    return parts[1] if len(parts) > 1 else "__init__"


def _imports(path: Path) -> list[tuple[int, str]]:
    """(line, gpuwise package) of every import in ``path``, at any depth."""
    out = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names = [node.module]
            if node.module == "gpuwise":  # from gpuwise import files
                names = [f"gpuwise.{a.name}" for a in node.names]
        elif isinstance(node, ast.Import):
            names = [a.name for a in node.names]
        else:
            continue
        for name in names:
            target = _package_of(name)
            if target is not None:
                out.append((node.lineno, target))
    return out


def _modules() -> list[tuple[str, Path]]:
    out = []
    for path in sorted(PACKAGE.rglob("*.py")):
        rel = path.relative_to(PACKAGE)
        owner = rel.parts[0] if len(rel.parts) > 1 else rel.stem
        out.append((owner, path))
    return out


def test_every_package_has_a_layer():
    owners = {owner for owner, _ in _modules()}
    assert owners, "no modules found"
    assert owners <= set(LAYERS), f"give these a layer: {sorted(owners - set(LAYERS))}"


def test_imports_point_down():
    modules = _modules()
    assert len(modules) > 50
    wrong = []
    for owner, path in modules:
        for line, target in _imports(path):
            if target == owner or target in UPWARD.get(path.relative_to(PACKAGE).as_posix(), ()):
                continue
            if LAYERS[target] >= LAYERS[owner]:
                wrong.append(f"{path.relative_to(PACKAGE)}:{line} {owner} -> {target}")
    assert not wrong, "imports that point up or sideways:\n" + "\n".join(wrong)


def test_the_layer_check_sees_an_import_inside_a_function(tmp_path):
    bad = tmp_path / "bad.py"
    bad.write_text("def f():\n    from gpuwise.timing.estimate import train_time\n")
    assert _imports(bad) == [(2, "timing")]


def test_public_names_are_importable():
    assert gpuwise.__all__
    for name in gpuwise.__all__:
        assert getattr(gpuwise, name) is not None, name
    with pytest.raises(AttributeError):
        _ = gpuwise.no_such_name  # type: ignore[attr-defined]


def test_importing_the_package_loads_no_planning_code():
    planning = ("gpuwise.catalog", "gpuwise.models", "gpuwise.plan", "gpuwise.memory")
    loads_none_of("import gpuwise", (*planning, "gpuwise.timing"))


def test_package_ships_its_type_information():
    assert (PACKAGE / "py.typed").is_file()
    assert importlib.import_module("gpuwise.workload").TASKS == ("train", "infer")
