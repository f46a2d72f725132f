"""Writing the files: a new or empty folder, --force to overwrite, nothing outside it."""

from __future__ import annotations

import argparse

import pytest

from gpuwise.cli.emit_flags import add_emit_flags, emit_from
from gpuwise.engines import launch_files, write_launch_files
from gpuwise.engines.emit_dir import MANIFEST
from gpuwise.errors import GpuwiseError
from gpuwise.parallel import Parallel
from gpuwise.workload import Workload

from .launcher import script_model


def files(spec, strategy="ddp", gpus=2):
    return launch_files(spec, Workload(), Parallel(strategy, gpus), model_ref="org/model")


def test_creates_missing_folders(tmp_path, llama_8b):
    written = write_launch_files(tmp_path / "a" / "b", files(llama_8b))
    assert sorted(p.name for p in written) == sorted([*files(llama_8b), MANIFEST])
    assert all(p.parent == tmp_path / "a" / "b" for p in written)


def test_refuses_a_folder_with_files_unless_forced(tmp_path, llama_8b):
    (tmp_path / "notes.txt").write_text("mine")
    with pytest.raises(GpuwiseError) as e:
        write_launch_files(tmp_path, files(llama_8b))
    msg = str(e.value)
    assert "\n" not in msg and "--force" in msg and "notes.txt" in msg
    assert sorted(p.name for p in tmp_path.iterdir()) == ["notes.txt"]  # nothing written
    write_launch_files(tmp_path, files(llama_8b), force=True)
    assert (tmp_path / "notes.txt").read_text() == "mine"  # other files left alone
    assert (tmp_path / "accelerate_config.yaml").is_file()


def test_force_overwrites_a_previous_plan(tmp_path, llama_8b):
    write_launch_files(tmp_path / "x", files(llama_8b, "ddp", 2))
    write_launch_files(tmp_path / "x", files(llama_8b, "ddp", 8), force=True)
    assert "num_processes: 8" in (tmp_path / "x" / "accelerate_config.yaml").read_text()


def test_refuses_a_file(tmp_path, llama_8b):
    target = tmp_path / "plan"
    target.write_text("")
    with pytest.raises(GpuwiseError, match="is a file"):
        write_launch_files(target, files(llama_8b), force=True)


@pytest.mark.parametrize("name", ["../evil.sh", "sub/../../evil.sh", "/tmp/evil.sh"])
def test_never_writes_outside(tmp_path, name):
    with pytest.raises(GpuwiseError, match="outside"):
        write_launch_files(tmp_path / "d", {name: "x"})
    assert not (tmp_path / "evil.sh").exists()
    assert not (tmp_path / "d").exists()


def test_local_model_path_is_made_absolute(tmp_path, tiny_llama, monkeypatch):
    """launch.sh runs from its own folder, so a relative config path must not stay relative."""
    (tmp_path / "cfg.json").write_text("{}")
    monkeypatch.chdir(tmp_path)
    out = launch_files(tiny_llama, Workload(), Parallel(), model_ref="cfg.json")
    assert script_model(out["launch.sh"]) == str(tmp_path / "cfg.json")


def test_inference_is_refused(llama_8b):
    with pytest.raises(GpuwiseError, match="--task train"):
        launch_files(llama_8b, Workload(task="infer"), Parallel(), model_ref="x")


def test_offload_plan_states_host_ram(llama_8b):
    p = Parallel("zero3-offload", 2)
    text = launch_files(llama_8b, Workload(), p, model_ref="x", host_ram_bytes=200 * 2**30)[
        "plan.txt"
    ]
    assert "host RAM" in text and "200.00 GiB" in text
    plain = launch_files(llama_8b, Workload(), Parallel("zero3", 2), model_ref="x")["plan.txt"]
    # no offload line without offload (the model-load line says what loading takes)
    assert not any(line.startswith("host RAM") for line in plain.splitlines())


def test_cli_flags(tmp_path, llama_8b):
    parser = argparse.ArgumentParser()
    add_emit_flags(parser)
    w, p = Workload(), Parallel("zero2", 2)
    assert emit_from(parser.parse_args([]), llama_8b, w, p, "org/m") == []
    args = parser.parse_args(["--emit", str(tmp_path / "out")])
    assert {f.name for f in emit_from(args, llama_8b, w, p, "org/m")} >= {"ds_config.json"}
    with pytest.raises(GpuwiseError):
        emit_from(args, llama_8b, w, p, "org/m")
    forced = parser.parse_args(["--emit", str(tmp_path / "out"), "--force"])
    assert emit_from(forced, llama_8b, w, p, "org/m")


def test_a_model_name_with_a_newline_is_refused(tmp_path, llama_8b):
    with pytest.raises(GpuwiseError, match="control characters"):
        launch_files(llama_8b, Workload(), Parallel("ddp", 2), model_ref="x\necho hi #")


def test_force_removes_the_launch_files_of_another_plan(tmp_path, llama_8b):
    zero = launch_files(llama_8b, Workload(), Parallel("zero2", 2), model_ref="m")
    write_launch_files(tmp_path / "run", zero)
    (tmp_path / "run" / "notes.md").write_text("mine")
    fsdp = launch_files(llama_8b, Workload(), Parallel("fsdp", 2), model_ref="m")
    write_launch_files(tmp_path / "run", fsdp, force=True)
    names = sorted(p.name for p in (tmp_path / "run").iterdir())
    assert "ds_config.json" not in names and "notes.md" in names


def test_plan_txt_states_the_host_ram_loading_takes(llama_8b):
    """DDP: every process loads the whole model on the host before the cards get it."""
    ddp = launch_files(llama_8b, Workload(), Parallel("ddp", 4), model_ref="m")["plan.txt"]
    one = llama_8b.params * 2 / (1 << 30)
    line = next(x for x in ddp.splitlines() if x.startswith("model load"))
    assert f"{one:.2f} GiB" in line and f"{4 * one:.2f} GiB in all" in line
    fsdp = launch_files(llama_8b, Workload(), Parallel("fsdp", 4), model_ref="m")["plan.txt"]
    assert "process 0 reads the checkpoint" in fsdp
