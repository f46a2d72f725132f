"""plan --framework X --emit: launch.sh starts that framework on the config it wrote (the run
the plan describes), not gpuwise's reference train.py, and bash reads it."""

from __future__ import annotations

import subprocess

import pytest

#: framework -> (its config file, the words launch.sh must run it with)
RUNS = {
    "llamafactory": ("llamafactory_train.yaml", "llamafactory-cli train llamafactory_train.yaml"),
    "axolotl": ("axolotl.yaml", "axolotl train axolotl.yaml"),
    "torchtune": ("torchtune_config.yaml", "tune run "),
    "trl": ("trl_sft.py", "python trl_sft.py"),
}


@pytest.mark.parametrize("framework", sorted(RUNS))
def test_launch_sh_runs_the_framework(cli, tmp_path, framework):
    out = tmp_path / "run"
    argv = ("plan", "llama-3.1-8b", "--method", "lora", "--gpu", "4090", "--seq", "1024")
    r = cli(*argv, "--framework", framework, "--emit", str(out))
    assert r.code == 0, r.err
    config, words = RUNS[framework]
    written = {p.name for p in out.iterdir()}
    assert config in written, written
    launch = (out / "launch.sh").read_text()
    commands = [ln for ln in launch.splitlines() if ln.strip() and not ln.startswith("#")]
    run = commands[-1]
    assert words in run and config in run and "train.py" not in run, launch
    subprocess.run(["bash", "-n", str(out / "launch.sh")], check=True)


def test_the_reference_step_still_runs_train_py(cli, tmp_path):
    out = tmp_path / "run"
    r = cli("plan", "llama-3.1-8b", "--method", "lora", "--gpu", "4090", "--emit", str(out))
    assert r.code == 0, r.err
    assert "train.py" in (out / "launch.sh").read_text()
