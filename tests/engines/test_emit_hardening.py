"""--emit against hostile names and folders (issue 11, hardening 1, 7 and the empty --emit).

launch.sh is run for real, with ``accelerate`` / ``torchrun`` replaced by stubs that record their
arguments, so a test sees what a shell makes of the file, not what a parser guesses.
"""

from __future__ import annotations

import ast
import contextlib
import hashlib
import io
import json
import os
import re
import shutil
import subprocess
import tempfile
import unicodedata
from pathlib import Path
from unittest import mock

import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from gpuwise.cli.main import main
from gpuwise.engines import launch_files, write_launch_files
from gpuwise.engines.emit_dir import MANIFEST
from gpuwise.engines.yaml_text import dump, scalar
from gpuwise.errors import GpuwiseError
from gpuwise.parallel import Parallel
from gpuwise.record import replace
from gpuwise.workload import Workload

from .conftest import CONFIGS

BASH = shutil.which("bash")
needs_bash = pytest.mark.skipif(BASH is None, reason="needs bash")

#: What the shell must never run, in every form a name could smuggle it in.
PAYLOADS = [
    "\ntouch pwned\n",
    "\ntouch pwned #",
    "#\ntouch pwned",
    "$(touch pwned)",
    "`touch pwned`",
    "'; touch pwned; '",
    '"; touch pwned; "',
    "\r\ntouch pwned\r\n",
    "\\\ntouch pwned",
    "${IFS}$(touch${IFS}pwned)",
]
STUB = '#!/bin/sh\nprintf "%s\\0" "$(basename "$0")" "$@" > "$ARGV_OUT"\n'


def unsafe(text: str) -> bool:
    """A character a shell or terminal acts on: controls, format characters, surrogates, line
    and paragraph separators (what --emit must refuse)."""
    return any(unicodedata.category(c) in {"Cc", "Cf", "Cs", "Zl", "Zp"} for c in text)


def run_cli(*argv: str) -> tuple[int, str, str]:
    """``gpuwise ARGV`` in-process with no user card file: exit code, stdout, stderr."""
    out, err = io.StringIO(), io.StringIO()
    env = {"XDG_CONFIG_HOME": "/nonexistent-gpuwise-test"}
    with (
        mock.patch.dict(os.environ, env),
        contextlib.redirect_stdout(out),
        contextlib.redirect_stderr(err),
    ):
        os.environ.pop("GPUWISE_CATALOG", None)
        try:
            code = main(list(argv))
        except SystemExit as e:  # argparse exits itself on usage errors
            code = int(e.code or 0)
    return code, out.getvalue(), err.getvalue()


def plan_emit(model: str, folder: Path, *extra: str, strategy="ddp") -> tuple[int, str, str]:
    return run_cli(
        "plan", model, "--gpus", "2", "--strategy", strategy, "--gpu", "3090", "--json",
        "--emit", str(folder), *extra,
    )  # fmt: skip


def assert_one_line_error(code: int, err: str, *words: str) -> None:
    assert code == 2
    assert err.endswith("\n") and err.count("\n") == 1, err
    assert "Traceback" not in err
    for word in words:
        assert word in err, (word, err)


def run_launch(folder: Path, scratch: Path) -> list[str]:
    """Run launch.sh with stub launchers on PATH; the argv the launcher got."""
    bin_dir = scratch / "stub-bin"
    bin_dir.mkdir(exist_ok=True)
    for name in ("accelerate", "torchrun", "deepspeed"):
        (bin_dir / name).write_text(STUB)
        (bin_dir / name).chmod(0o755)
    argv_out = scratch / "argv.bin"
    env = {**os.environ, "PATH": f"{bin_dir}{os.pathsep}{os.environ['PATH']}"}
    env["ARGV_OUT"] = str(argv_out)
    script = folder / "launch.sh"
    check = subprocess.run([BASH, "-n", str(script)], capture_output=True, text=True)
    assert check.returncode == 0, check.stderr
    ran = subprocess.run([BASH, str(script)], env=env, cwd=scratch, capture_output=True)
    assert ran.returncode == 0, ran.stderr
    return argv_out.read_bytes().decode("utf-8", "surrogateescape").split("\0")[:-1]


def run_alternative(folder: Path, scratch: Path) -> list[str]:
    """The commented bare launch of launch.sh, uncommented and run after its MODEL line."""
    text = (folder / "launch.sh").read_text()
    lines = text.splitlines()
    (model_line,) = [ln for ln in lines if ln.startswith("MODEL=")]
    start = next(i for i, ln in enumerate(lines) if ln.startswith("# The same run without"))
    body = [ln.removeprefix("#") for ln in lines[start + 2 :]]
    alt = scratch / "alt.sh"
    alt.write_text("set -eu\n" + model_line + "\n" + "\n".join(body) + "\n")
    (scratch / "launch-copy").mkdir(exist_ok=True)
    shutil.copy(alt, scratch / "launch-copy" / "launch.sh")
    return run_launch(scratch / "launch-copy", scratch)


def no_marker(root: Path) -> bool:
    return not any(p.name == "pwned" for p in root.rglob("*"))


# --- 1. launch.sh injection -----------------------------------------------------------------


@needs_bash
def test_a_newline_in_the_current_folder_is_refused(tmp_path, monkeypatch):
    """`cfg.json` is clean; the folder it sits in (the current one) ends launch.sh's comment."""
    evil = tmp_path / "x\ntouch pwned #"
    evil.mkdir()
    shutil.copy(CONFIGS / "tiny-llama.json", evil / "cfg.json")
    monkeypatch.chdir(evil)
    code, _, err = plan_emit("cfg.json", tmp_path / "out")
    assert_one_line_error(code, err, "--emit", "resolved path", "\\n")
    assert not (tmp_path / "out").exists()
    assert no_marker(tmp_path)


@needs_bash
def test_a_symlink_whose_target_holds_a_newline_is_refused(tmp_path, monkeypatch):
    evil = tmp_path / "y\n$(touch pwned)"
    evil.mkdir()
    shutil.copy(CONFIGS / "tiny-llama.json", evil / "config.json")
    (tmp_path / "clean").mkdir()
    (tmp_path / "clean" / "cfg.json").symlink_to(evil / "config.json")
    monkeypatch.chdir(tmp_path / "clean")
    code, _, err = plan_emit("cfg.json", tmp_path / "out")
    assert_one_line_error(code, err, "--emit", "resolved path")
    assert not (tmp_path / "out").exists()
    assert no_marker(tmp_path)


def test_a_folder_name_that_is_not_utf8_is_refused(tmp_path, monkeypatch):
    """Bytes that are not UTF-8 come back from the OS as lone surrogates: one line, no file."""
    evil = os.path.join(os.fsencode(tmp_path), b"m\xff\xfe")
    os.mkdir(evil)
    shutil.copy(CONFIGS / "tiny-llama.json", os.path.join(evil, b"cfg.json"))
    monkeypatch.chdir(evil)
    code, _, err = plan_emit("cfg.json", tmp_path / "out")
    assert_one_line_error(code, err, "--emit", "resolved path", "\\udcff")
    assert not (tmp_path / "out").exists()


@needs_bash
@pytest.mark.parametrize(("strategy", "bare"), [("ddp", "torchrun"), ("zero2", "deepspeed")])
def test_shell_syntax_in_a_path_reaches_train_py_whole(tmp_path, monkeypatch, strategy, bare):
    """Quotes, $(), backticks and # in a folder name: accepted, and both the accelerate line and
    the commented torchrun / deepspeed line pass the path as one argument; nothing runs."""
    odd = tmp_path / "a'b\"$(touch pwned)`touch pwned`; #c & d"
    odd.mkdir()
    shutil.copy(CONFIGS / "tiny-llama.json", odd / "cfg.json")
    monkeypatch.chdir(odd)
    code, out, err = plan_emit("cfg.json", tmp_path / "out", strategy=strategy)
    assert code == 0, err
    model = str(odd / "cfg.json")
    argv = run_launch(tmp_path / "out", tmp_path)
    assert argv == ["accelerate", "launch", "--config_file", "accelerate_config.yaml",
                    "train.py", "--model", model]  # fmt: skip
    alt = run_alternative(tmp_path / "out", tmp_path)
    assert alt[0] == bare and alt[-2:] == ["--model", model]
    text = (tmp_path / "out" / "launch.sh").read_text()
    comments = [ln for ln in text.splitlines() if ln.startswith("#")]
    assert comments and not any("touch" in ln for ln in comments)  # no path in a comment
    assert no_marker(tmp_path)
    assert json.loads(out)["emitted"]


names = st.tuples(
    st.text(st.sampled_from(list("ab é中 #'\"$`\\;&|()*?!{}~\t\x1b\u2028\u202e")), max_size=8),
    st.sampled_from(PAYLOADS),
    st.text(st.sampled_from(list("ab #'\"$`\\\n")), max_size=8),
).map("".join)


@needs_bash
@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(names)
def test_no_folder_name_runs_a_command(name):
    """Any folder name around the model: either one line and exit 2 (it holds a control
    character), or a launch.sh that hands train.py exactly the path and runs nothing else."""
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        folder = root / name
        folder.mkdir()
        shutil.copy(CONFIGS / "tiny-llama.json", folder / "cfg.json")
        with contextlib.chdir(folder):
            code, _, err = plan_emit("cfg.json", root / "out")
        model = str(folder.resolve() / "cfg.json")
        if unsafe(model):
            assert_one_line_error(code, err, "--emit")
            assert not (root / "out").exists()
        else:
            assert code == 0, err
            argv = run_launch(root / "out", root)
            assert argv[-2:] == ["--model", model]
            assert run_alternative(root / "out", root)[-2:] == ["--model", model]
            train = (root / "out" / "train.py").read_text()
            block = train[train.index("SETTINGS = ") + len("SETTINGS = ") : train.index("\n\n\n")]
            assert ast.literal_eval(block)["model"] == model
        assert no_marker(root)


def test_a_model_name_with_a_control_character_is_refused_in_plan_txt(tiny_llama):
    """The model's name (from its file or folder) goes into plan.txt: checked as the path is."""
    spec = replace(tiny_llama, name="tiny\x1b]0;owned\x07")
    with pytest.raises(GpuwiseError, match="model's name"):
        launch_files(spec, Workload(), Parallel("ddp", 2), model_ref="org/m")


# --- YAML: every string and float reads back as written --------------------------------------


@settings(max_examples=300, deadline=None)
@given(st.one_of(st.text(), st.floats(allow_nan=False, allow_infinity=False)))
def test_yaml_scalars_read_back(value):
    assert yaml.safe_load(f"k: {scalar(value)}\n") == {"k": value}


@settings(max_examples=100, deadline=None)
@given(
    st.dictionaries(
        st.text(st.sampled_from("abz_-."), min_size=1, max_size=6),
        st.one_of(st.text(), st.integers(), st.booleans(), st.none()),
        min_size=1,
    )
)
def test_yaml_mappings_read_back(data):
    assert yaml.safe_load(dump({"outer": data})) == {"outer": data}


@pytest.mark.parametrize("bad", [float("inf"), float("-inf"), float("nan")])
def test_yaml_refuses_non_finite_numbers(bad):
    with pytest.raises(ValueError, match="non-finite"):
        scalar(bad)


# --- 3. empty --emit ------------------------------------------------------------------------


@settings(max_examples=10, deadline=None)
@given(st.text(st.sampled_from(" \t"), max_size=3), st.sampled_from(["plan", "recommend"]))
def test_an_empty_emit_is_an_error(blank, command):
    extra = ["--gpus", "2", "--strategy", "ddp", "--gpu", "3090"] if command == "plan" else []
    code, out, err = run_cli(command, "llama-3.2-1b", *extra, "--emit", blank)
    assert_one_line_error(code, err, "--emit", "names no folder")
    assert out == ""


# --- 2. --force: a manifest, and writes by rename ------------------------------------------


def files(spec, strategy="ddp", gpus=2):
    return launch_files(spec, Workload(), Parallel(strategy, gpus), model_ref="org/model")


def snapshot(folder: Path) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in folder.iterdir() if not p.is_symlink()}


def test_the_manifest_lists_each_file_with_its_hash(tmp_path, llama_8b):
    written = write_launch_files(tmp_path / "run", files(llama_8b, "zero2"))
    assert written[-1].name == MANIFEST
    doc = json.loads(written[-1].read_text())
    assert sorted(doc["files"]) == sorted(p.name for p in written[:-1])
    for path in written[:-1]:
        assert doc["files"][path.name] == hashlib.sha256(path.read_bytes()).hexdigest()
    # every file written is listed, and no temporary file is left behind
    assert sorted(p.name for p in (tmp_path / "run").iterdir()) == sorted(p.name for p in written)


def test_force_never_writes_through_a_hard_link(tmp_path, llama_8b):
    """A hard link to an emitted file (a backup elsewhere) keeps its content on --force."""
    write_launch_files(tmp_path / "run", files(llama_8b, "ddp", 2))
    before = (tmp_path / "run" / "plan.txt").read_text()
    os.link(tmp_path / "run" / "plan.txt", tmp_path / "backup.txt")
    write_launch_files(tmp_path / "run", files(llama_8b, "ddp", 8), force=True)
    assert (tmp_path / "backup.txt").read_text() == before
    assert "8 (one machine)" in (tmp_path / "run" / "plan.txt").read_text()


def test_force_refuses_a_planted_hard_link(tmp_path):
    """run/plan.txt hard-linked to a file outside: --force leaves that file as it was."""
    outside = tmp_path / "bashrc"
    outside.write_text("export SECRET=1\n")
    (tmp_path / "run").mkdir()
    os.link(outside, tmp_path / "run" / "plan.txt")
    code, _, err = plan_emit("llama-3.2-1b", tmp_path / "run", "--force")
    assert_one_line_error(code, err, "plan.txt", "not written by gpuwise")
    assert outside.read_text() == "export SECRET=1\n"
    assert sorted(p.name for p in (tmp_path / "run").iterdir()) == ["plan.txt"]


def test_force_keeps_a_users_own_train_py(tmp_path):
    (tmp_path / "run").mkdir()
    (tmp_path / "run" / "train.py").write_text("my own loop\n")
    code, _, err = plan_emit("llama-3.2-1b", tmp_path / "run", "--force")
    assert_one_line_error(code, err, "train.py", "not written by gpuwise")
    assert snapshot(tmp_path / "run") == {"train.py": b"my own loop\n"}


def test_force_never_removes_a_users_file_of_a_launch_file_name(tmp_path, llama_8b):
    """An FSDP plan writes no ds_config.json; the user's own one stays (it is not gpuwise's)."""
    write_launch_files(tmp_path / "run", files(llama_8b, "fsdp"))
    (tmp_path / "run" / "ds_config.json").write_text('{"mine": true}\n')
    write_launch_files(tmp_path / "run", files(llama_8b, "fsdp", 4), force=True)
    assert (tmp_path / "run" / "ds_config.json").read_text() == '{"mine": true}\n'


def test_force_replaces_exactly_the_previous_files(tmp_path, llama_8b):
    zero = write_launch_files(tmp_path / "run", files(llama_8b, "zero2"))
    assert "ds_config.json" in {p.name for p in zero}
    (tmp_path / "run" / "notes.md").write_text("mine")
    new = files(llama_8b, "fsdp")
    write_launch_files(tmp_path / "run", new, force=True)
    got = snapshot(tmp_path / "run")
    assert sorted(got) == sorted([*new, MANIFEST, "notes.md"])
    assert got["notes.md"] == b"mine"
    assert all(got[name] == text.encode() for name, text in new.items())
    recorded = json.loads(got[MANIFEST])["files"]
    assert recorded == {n: hashlib.sha256(t.encode()).hexdigest() for n, t in new.items()}


@pytest.mark.parametrize("name", ["train.py", "ds_config.json"])
def test_force_refuses_an_edited_launch_file(tmp_path, llama_8b, name):
    """Edited since gpuwise wrote it: named, and nothing in the folder changes (ds_config.json:
    the FSDP plan would have removed it)."""
    write_launch_files(tmp_path / "run", files(llama_8b, "zero2"))
    with (tmp_path / "run" / name).open("a") as f:
        f.write("\n# my change\n")
    before = snapshot(tmp_path / "run")
    with pytest.raises(GpuwiseError, match=re.escape(f"{name} was changed")) as e:
        write_launch_files(tmp_path / "run", files(llama_8b, "fsdp"), force=True)
    assert "\n" not in str(e.value)
    assert snapshot(tmp_path / "run") == before


def test_force_refuses_a_symlink_in_place_of_a_launch_file(tmp_path, llama_8b):
    write_launch_files(tmp_path / "run", files(llama_8b))
    outside = tmp_path / "profile"
    outside.write_text("keep\n")
    (tmp_path / "run" / "launch.sh").unlink()
    (tmp_path / "run" / "launch.sh").symlink_to(outside)
    with pytest.raises(GpuwiseError, match=r"launch\.sh is a link"):
        write_launch_files(tmp_path / "run", files(llama_8b), force=True)
    assert outside.read_text() == "keep\n"


json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.text(max_size=70),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=12), inner),
    max_leaves=12,
)
manifests = st.one_of(
    st.binary(max_size=200),
    json_values.map(lambda v: json.dumps(v).encode()),
    st.dictionaries(st.sampled_from(["plan.txt", "../x", "notes.md", MANIFEST]), st.text()).map(
        lambda f: json.dumps({"schema_version": 1, "files": f}).encode()
    ),
    st.integers(1, 50_000).map(lambda n: b"[" * n + b"]" * n),
)


@settings(max_examples=80, deadline=None)
@given(manifests)
def test_any_manifest_is_used_or_refused_in_one_line(llama_8b, manifest):
    """Whatever a folder's manifest holds: a one-line refusal or a write, never a traceback,
    and a file the user wrote is never touched."""
    with tempfile.TemporaryDirectory() as tmp:
        run = Path(tmp) / "run"
        run.mkdir()
        (run / MANIFEST).write_bytes(manifest)
        (run / "notes.md").write_text("mine")
        (run / "plan.txt").write_text("mine too")
        try:
            write_launch_files(run, files(llama_8b), force=True)
        except GpuwiseError as e:
            assert "\n" not in str(e)
        assert (run / "notes.md").read_text() == "mine"
        assert (run / "plan.txt").read_text() == "mine too"  # no real hash of it is listed
