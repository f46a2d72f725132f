"""A saved bench that is not a readable bench never breaks a plan: one warning, the plan as if
there were none; never a traceback, a hang, an unbounded read or a rate scaled to nothing.

Issue 11, hardening items 4, 5 and 6 for the bench cache (gpuwise.timing.calibration).
"""

from __future__ import annotations

import json
import os
import pwd

import pytest

from ..bounded import gpuwise_process

PLAN = ("plan", "gpt2", "--gpu", "4090", "--no-search", "--json")


def bench_doc(bf16: float | str = 0.5, copy: float | str = 0.5, date: str = '"2026-12-01"'):
    """A bench of the RTX 4090 as `gpuwise bench` saves it, as JSON text (numbers spelled as
    given, so a test can put any literal in)."""
    return (
        f'{{"kind": "gpuwise-bench", "date": {date}, "device": "cuda", '
        '"card": {"name": "GeForce RTX 4090", "slug": "rtx-4090"}, '
        f'"matmul": [{{"dtype": "bf16", "fraction_of_spec": {bf16}}}], '
        f'"bandwidth": [{{"kind": "device copy", "fraction_of_spec": {copy}}}]}}'
    )


@pytest.fixture
def bench_dir(tmp_path, monkeypatch):
    folder = tmp_path / "bench"
    folder.mkdir()
    monkeypatch.setenv("GPUWISE_BENCH_DIR", str(folder))
    return folder


def ignored(cli, path, plain) -> None:
    r = cli(*PLAN)
    assert r.code == 0 and "Traceback" not in r.err, r.err
    assert r.json() == plain
    assert r.err.count("\n") == 1 and "warning" in r.err and str(path) in r.err, r.err


@pytest.mark.parametrize(
    "text",
    [
        "[" * 100_000 + "]" * 100_000,
        bench_doc(bf16="1" * 5000),
        bench_doc(bf16="NaN"),
        bench_doc(copy="Infinity"),
        bench_doc(bf16="1e400"),
        bench_doc(bf16="5e-324"),
        bench_doc(copy="1e-300"),
        bench_doc(date="7"),
        bench_doc(date='"2026-12-01\\n"'),
        bench_doc(date='"\\ud800"'),
    ],
)
def test_a_hostile_bench_is_ignored_with_one_warning(cli, bench_dir, text):
    plain = cli(*PLAN).json()
    path = bench_dir / "rtx-4090.json"
    path.write_text(text)
    ignored(cli, path, plain)


def test_a_sound_bench_still_calibrates(cli, bench_dir):
    plain = cli(*PLAN).json()
    (bench_dir / "rtx-4090.json").write_text(bench_doc(bf16=0.2, copy=0.2))
    r = cli(*PLAN)
    assert r.code == 0 and r.err == ""
    assert r.json()["cards"][0]["time"]["mfu"] < plain["cards"][0]["time"]["mfu"]


def test_a_folder_at_the_bench_path_is_ignored(cli, bench_dir):
    plain = cli(*PLAN).json()
    path = bench_dir / "rtx-4090.json"
    path.mkdir()
    ignored(cli, path, plain)


def test_a_bench_over_the_limit_is_ignored(cli, bench_dir, monkeypatch):
    from gpuwise import files

    plain = cli(*PLAN).json()
    path = bench_dir / "rtx-4090.json"
    path.write_text(bench_doc(bf16=0.2, copy=0.2))
    monkeypatch.setitem(files.LIMITS, "bench", path.stat().st_size - 1)
    ignored(cli, path, plain)


@pytest.mark.parametrize("kind", ["FIFO", "device"])
def test_a_fifo_or_device_at_the_bench_path_is_ignored(tmp_path, kind):
    """Their own processes, bounded: a plain read of a FIFO waits for a writer for ever, one of
    /dev/zero reads until memory runs out."""
    path = tmp_path / "rtx-4090.json"
    if kind == "FIFO":
        os.mkfifo(path)
    elif os.path.exists("/dev/zero"):
        path.symlink_to("/dev/zero")
    else:
        pytest.skip("no /dev/zero")
    env = {"GPUWISE_BENCH_DIR": str(tmp_path), "XDG_CONFIG_HOME": str(tmp_path)}
    r = gpuwise_process(*PLAN, env=env)
    assert r.returncode == 0 and "Traceback" not in r.stderr, r.stderr
    assert r.stderr.count("\n") == 1 and kind in r.stderr
    json.loads(r.stdout)


def test_a_plan_without_a_home_folder_has_no_bench_and_no_traceback(cli, monkeypatch):
    for var in ("GPUWISE_BENCH_DIR", "XDG_CACHE_HOME", "HOME"):
        monkeypatch.delenv(var, raising=False)

    def no_entry(uid):
        raise KeyError(uid)

    monkeypatch.setattr(pwd, "getpwuid", no_entry)
    r = cli(*PLAN)
    assert r.code == 0 and r.err == "", r.err
    from gpuwise.timing.calibration import bench_path, save_bench

    assert bench_path("rtx-4090") is None
    with pytest.raises(OSError, match="GPUWISE_BENCH_DIR"):
        save_bench({}, "rtx-4090")


def test_the_warning_shows_a_hostile_folder_name_as_text(cli, tmp_path, monkeypatch):
    """The warning quotes the bench's path: an ESC in a folder name is shown, not obeyed."""
    folder = tmp_path / "bench\x1b[2J\x07"
    folder.mkdir()
    monkeypatch.setenv("GPUWISE_BENCH_DIR", str(folder))
    (folder / "rtx-4090.json").write_text("{not json")
    r = cli(*PLAN)
    assert r.code == 0 and "warning" in r.err
    assert "\x1b" not in r.err and "\x07" not in r.err
    assert "\\x1b[2J\\x07" in r.err
