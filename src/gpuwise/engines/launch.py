"""launch.sh: the ``accelerate launch`` command, and the bare torchrun / deepspeed equivalent."""

from __future__ import annotations

import shlex

from gpuwise.engines.accelerate_config import launcher_env
from gpuwise.models.spec import ModelSpec
from gpuwise.parallel import Parallel
from gpuwise.workload import Workload

CONFIG_FILE = "accelerate_config.yaml"


def accelerate_argv(model_ref: str) -> list[str]:
    """``accelerate launch`` and its arguments (the first word is the command)."""
    return ["accelerate", "launch", "--config_file", CONFIG_FILE, "train.py", "--model", model_ref]


def alternative_argv(p: Parallel, model_ref: str) -> list[str]:
    """The same run without accelerate's launcher: torchrun, or DeepSpeed's own launcher."""
    script = ["train.py", "--model", model_ref]
    if p.engine == "deepspeed":
        return ["deepspeed", "--num_gpus", str(p.gpus), *script]
    return ["torchrun", "--standalone", "--nproc_per_node", str(p.gpus), *script]


def launch_sh(spec: ModelSpec, w: Workload, p: Parallel, model_ref: str) -> str:
    env = launcher_env(spec, w, p)
    env_words = [f"{k}={shlex.quote(v)}" for k, v in env.items()]
    alt = " \\\n#   ".join([*env_words, shlex.join(alternative_argv(p, model_ref))])
    return (
        "#!/usr/bin/env bash\n"
        f"# gpuwise plan: {p.strategy} on {p.gpus} GPU(s); see plan.txt. Extra arguments go to\n"
        "# train.py (--max-steps N, --lr X, --output-dir DIR).\n"
        "set -euo pipefail\n"
        'cd "$(dirname "$0")"\n'
        f'{shlex.join(accelerate_argv(model_ref))} "$@"\n'
        "\n"
        "# The same run without accelerate's launcher: these variables are what\n"
        "# `accelerate launch` derives from accelerate_config.yaml for train.py's Accelerator.\n"
        f"# {alt}\n"
    )
