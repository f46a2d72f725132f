"""Shared fixtures: run the CLI in-process and capture its streams."""

from __future__ import annotations

import json
from dataclasses import dataclass

import pytest

from gpuwise.cli.main import main


@dataclass
class Result:
    code: int
    out: str
    err: str

    def json(self):
        return json.loads(self.out)


@pytest.fixture(autouse=True)
def _no_saved_bench(monkeypatch, tmp_path_factory):
    """No test reads the developer's saved benches: plan times stay the catalogue's."""
    monkeypatch.setenv("GPUWISE_BENCH_DIR", str(tmp_path_factory.mktemp("bench")))


@pytest.fixture(autouse=True)
def _english_locale(monkeypatch):
    """Tests read English unless they ask for another language: a developer's zh_CN locale
    must not change what a command says."""
    for variable in ("LANGUAGE", "LC_ALL", "LC_MESSAGES"):
        monkeypatch.delenv(variable, raising=False)
    monkeypatch.setenv("LANG", "C.UTF-8")


@pytest.fixture
def cli(capsys, monkeypatch, tmp_path):
    """Run ``gpuwise ARGS`` in-process with no user card file; returns code, stdout, stderr."""
    monkeypatch.delenv("GPUWISE_CATALOG", raising=False)
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "no-config"))

    def run(*args: str) -> Result:
        try:
            code = main(list(args))
        except SystemExit as e:  # argparse exits itself on usage errors
            code = int(e.code or 0)
        captured = capsys.readouterr()
        return Result(code, captured.out, captured.err)

    return run
