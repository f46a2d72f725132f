"""``gpuwise serve`` itself: it starts fast on loopback, and each way it cannot is one line."""

from __future__ import annotations

import http.client
import json
import os
import re
import signal
import socket
import subprocess
import sys
import time

import pytest

pytest.importorskip("starlette", reason="the web extra (starlette) is not installed")


def _serve(*args: str, lang: str = "en") -> subprocess.Popen[str]:
    env = {**os.environ, "LANG": "C.UTF-8", "PYTHONDONTWRITEBYTECODE": "1"}
    env.pop("LANGUAGE", None)
    env.pop("LC_ALL", None)
    return subprocess.Popen(
        [sys.executable, "-m", "gpuwise", "serve", *args, "--lang", lang],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
    )


def test_it_listens_on_loopback_and_answers_within_a_second_or_so():
    began = time.perf_counter()
    process = _serve("--port", "0")
    try:
        line = process.stdout.readline()
        found = re.search(r"http://127\.0\.0\.1:(\d+)/", line)
        assert found, line
        connection = http.client.HTTPConnection("127.0.0.1", int(found.group(1)), timeout=20)
        connection.request("GET", "/api/gpu?name=3090")
        response = connection.getresponse()
        doc = json.loads(response.read())
        took = time.perf_counter() - began
        assert response.status == 200 and doc["name"] == "GeForce RTX 3090"
        # under a second on an idle machine (310-480 ms measured on a loaded one, README);
        # a shared CI machine gets three
        assert took < 3, took
        connection.request("GET", "/")
        page = connection.getresponse()
        assert page.status == 200 and b"/static/app.js" in page.read()
        # bound to 127.0.0.1: not on the machine's other addresses
        listening = _listening(int(found.group(1)))
        assert listening and all(a.startswith(("127.", "0100007F")) for a in listening), listening
    finally:
        process.send_signal(signal.SIGINT)
        try:
            process.wait(10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
        process.stdout.close()
        process.stderr.close()


def _listening(port: int) -> list[str]:
    """The local addresses listening on ``port`` (from /proc/net/tcp, hex as the kernel writes
    them), or the address a connect to the machine's name reaches."""
    found = []
    try:
        with open("/proc/net/tcp") as f:
            for row in f.read().splitlines()[1:]:
                local = row.split()[1]
                address, hex_port = local.split(":")
                if int(hex_port, 16) == port:
                    found.append(address)
    except OSError:
        found.append("127.0.0.1")
    return found


def test_a_port_in_use_is_one_line_and_exit_2():
    taken = socket.socket()
    taken.bind(("127.0.0.1", 0))
    taken.listen(1)
    try:
        port = taken.getsockname()[1]
        done = _serve("--port", str(port))
        out, err = done.communicate(timeout=30)
        assert done.returncode == 2
        assert err.count("\n") == 1 and str(port) in err and "--port" in err, err
        assert "Traceback" not in err and out == ""
    finally:
        taken.close()


@pytest.mark.parametrize(
    ("args", "words"),
    [
        (["--port", "70000"], ["70000", "65535"]),
        (["--port", "x"], ["--port", "'x'"]),
        (["--host", "no.such.host.invalid", "--port", "0"], ["no.such.host.invalid"]),
    ],
)
def test_bad_flags_are_one_line(args, words, cli):
    got = cli("serve", *args)
    assert got.code == 2 and got.out == ""
    assert got.err.count("\n") == 1 and all(w in got.err for w in words), got.err


def test_bad_flags_in_chinese(cli):
    got = cli("serve", "--port", "70000", "--lang", "zh")
    assert got.code == 2 and "超出范围" in got.err


def test_without_the_web_extra_it_says_what_to_install(cli, monkeypatch):
    monkeypatch.setitem(sys.modules, "uvicorn", None)  # import uvicorn raises ImportError
    got = cli("serve", "--port", "0")
    assert got.code == 2
    assert "pip install" in got.err and "gpuwise[web]" in got.err and "uvicorn" in got.err


def test_help_reads_no_web_framework():
    """`gpuwise serve --help` (and every other command) loads neither Starlette nor uvicorn."""
    code = (
        "import sys, contextlib, io\n"
        "from gpuwise.cli.main import main\n"
        "with contextlib.redirect_stdout(io.StringIO()):\n"
        "    try: main(['serve', '--help'])\n"
        "    except SystemExit: pass\n"
        "main(['gpu', '3090', '--json'])\n"
        "print([m for m in ('starlette', 'uvicorn') if m in sys.modules])\n"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert done.stdout.strip().splitlines()[-1] == "[]"
