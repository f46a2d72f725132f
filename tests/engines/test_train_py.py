"""train.py compiles for every plan and really trains a tiny model on the CPU."""

from __future__ import annotations

import os
import re
import subprocess
import sys

import pytest

from gpuwise.parallel import Parallel
from gpuwise.workload import Workload

from .conftest import CONFIGS
from .launcher import accelerate_command, emit

TINY = CONFIGS / "tiny-llama.json"


def run(cmd: list[str], cwd) -> str:
    env = dict(os.environ, OMP_NUM_THREADS="1", TOKENIZERS_PARALLELISM="false")
    env = {k: v for k, v in env.items() if not k.startswith(("ACCELERATE_", "FSDP_"))}
    done = subprocess.run(cmd, cwd=cwd, env=env, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr[-3000:]
    return done.stdout


def losses(out: str) -> list[float]:
    return [float(x) for x in re.findall(r"step \d+/\d+ loss ([0-9.]+)", out)]


def test_lora_with_checkpointing_trains_two_steps(tmp_path, tiny_llama):
    """Plain python: the Accelerator runs one process on the CPU."""
    w = Workload(method="lora", lora_rank=4, grad_checkpointing=True, batch=2, seq=32,
                 precision="fp32")  # fmt: skip
    folder = emit(tmp_path, tiny_llama, w, Parallel("single", grad_accum=2), model_ref=str(TINY))
    out = run([sys.executable, "train.py", "--max-steps", "2", "--lr", "1e-3"], folder)
    assert len(losses(out)) == 2
    assert all(0 < x < 20 for x in losses(out))


def test_launch_command_runs(tmp_path, tiny_llama):
    """The accelerate launch command of launch.sh, as written, on the CPU, full fine-tune."""
    pytest.importorskip("accelerate")
    w = Workload(batch=1, seq=16, precision="bf16")
    folder = emit(tmp_path, tiny_llama, w, Parallel("single"), model_ref=str(TINY))
    cmd = [sys.executable, "-m", "accelerate.commands.launch", *accelerate_command(folder)]
    out = run([*cmd, "--max-steps", "2", "--output-dir", "out"], folder)
    assert len(losses(out)) == 2
    assert (folder / "out" / "config.json").is_file()
