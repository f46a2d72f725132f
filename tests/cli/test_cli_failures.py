"""How the command line ends when the world gets in the way: a full disk behind stdout, Ctrl-C.
One line on stderr and a distinct exit code, never a traceback (unless --debug asks for it).
Also: ``--json`` output never loads rich, and ``emit`` takes the table function itself."""

from __future__ import annotations

import argparse
import os
import signal
import subprocess
import sys

import pytest

import gpuwise.cli.gpus as gpus_cli
from gpuwise.cli.common import emit

FULL = "/dev/full"


def gpuwise(*args: str, stdout: str | None = None) -> subprocess.CompletedProcess[str]:
    cmd = [sys.executable, "-m", "gpuwise", *args]
    if stdout is None:
        return subprocess.run(cmd, capture_output=True, text=True)
    with open(stdout, "w") as out:
        return subprocess.run(cmd, stdout=out, stderr=subprocess.PIPE, text=True)


@pytest.mark.skipif(not os.path.exists(FULL), reason="no /dev/full on this system")
@pytest.mark.parametrize("args", [("gpus",), ("gpus", "--json"), ("gpu", "3090")])
def test_a_full_disk_behind_stdout_is_one_line(args):
    r = gpuwise(*args, stdout=FULL)
    assert r.returncode == 1
    assert (
        r.stderr == f"gpuwise {args[0]}: error: cannot write the output: No space left on device\n"
    )


@pytest.mark.skipif(not os.path.exists(FULL), reason="no /dev/full on this system")
def test_debug_shows_the_traceback_of_a_full_disk():
    r = gpuwise("--debug", "gpus", stdout=FULL)
    assert r.returncode != 0 and "Traceback" in r.stderr and "No space left" in r.stderr


def test_ctrl_c_is_one_line_and_exit_130():
    """A real SIGINT while a command runs (here: while it reads the catalogue). The child
    takes SIGINT as a terminal delivers it even when started from a shell that ignores it
    (a background job without job control: Python then leaves SIGINT ignored)."""
    code = (
        "import signal; signal.signal(signal.SIGINT, signal.default_int_handler)\n"
        "import sys, time; import gpuwise.cli.gpus as g\n"
        "def slow(*a):\n"
        "    print('reading', file=sys.stderr, flush=True); time.sleep(60)\n"
        "g.load_catalog = slow\n"
        "from gpuwise.cli.main import main; sys.exit(main(['gpus']))\n"
    )
    p = subprocess.Popen(
        [sys.executable, "-c", code], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    )
    assert p.stderr is not None and p.stderr.readline() == "reading\n"
    p.send_signal(signal.SIGINT)
    out, err = p.communicate(timeout=30)
    assert p.returncode == 130
    assert (out, err) == ("", "gpuwise gpus: interrupted\n")


def test_ctrl_c_anywhere_in_a_command(cli, monkeypatch):
    def interrupted(*args):
        raise KeyboardInterrupt

    monkeypatch.setattr(gpus_cli, "load_catalog", interrupted)
    try:
        r = cli("gpus", "--json")
    except KeyboardInterrupt:
        pytest.fail("Ctrl-C left main: a traceback")
    assert (r.code, r.out, r.err) == (130, "", "gpuwise gpus: interrupted\n")
    with pytest.raises(KeyboardInterrupt):
        cli("--debug", "gpus")


def test_json_output_never_loads_rich():
    code = (
        "import sys; from gpuwise.cli.main import main\n"
        "for args in (['gpus', '--json'], ['gpu', '3090', '--json'], ['gpu', 'x', '--json']):\n"
        "    main(args)\n"
        "loaded = 'rich' in sys.modules\n"
        "main(['gpu', '3090'])\n"
        "sys.exit(f'json loaded rich' if loaded else 0 if 'rich' in sys.modules else 'no table')\n"
    )
    r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert r.returncode == 0, r.stderr


def test_emit_prints_what_the_table_function_makes(capsys):
    seen = []

    def table(doc):
        seen.append(doc)
        return ["first [/bold]", "second"]

    assert emit(argparse.Namespace(json=False), {"k": 1}, table) == 0
    assert seen == [{"k": 1}]
    assert capsys.readouterr().out.split() == ["first", "[/bold]", "second"]
    assert emit(argparse.Namespace(json=True), {"k": 1}, table) == 0
    assert seen == [{"k": 1}] and '"k": 1' in capsys.readouterr().out
