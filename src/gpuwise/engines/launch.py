"""launch.sh: the ``accelerate launch`` command, and the bare torchrun / deepspeed equivalent.

The model path is the only text in launch.sh that comes from the user: it is set once, quoted,
in a shell variable (:data:`MODEL_VAR`), and both commands, the commented alternative included,
refer to the variable, so no comment ever holds the path.
"""

from __future__ import annotations

import shlex

from gpuwise.engines.accelerate_config import launcher_env
from gpuwise.models.spec import ModelSpec
from gpuwise.parallel import Parallel
from gpuwise.workload import Workload

CONFIG_FILE = "accelerate_config.yaml"

#: The shell variable launch.sh keeps the model in, and how the commands pass it to train.py.
MODEL_VAR = "MODEL"
MODEL_ARGS = f'--model "${MODEL_VAR}"'


def accelerate_argv() -> list[str]:
    """``accelerate launch`` and its arguments up to the script (the first word is the
    command); launch.sh adds :data:`MODEL_ARGS` and the user's own arguments."""
    return ["accelerate", "launch", "--config_file", CONFIG_FILE, "train.py"]


def alternative_argv(p: Parallel) -> list[str]:
    """The same run without accelerate's launcher: torchrun, or DeepSpeed's own launcher."""
    if p.engine == "deepspeed":
        return ["deepspeed", "--num_gpus", str(p.gpus), "train.py"]
    return ["torchrun", "--standalone", "--nproc_per_node", str(p.gpus), "train.py"]


def launch_sh(spec: ModelSpec, w: Workload, p: Parallel, model_ref: str) -> str:
    env = launcher_env(spec, w, p)
    env_words = [f"{k}={shlex.quote(v)}" for k, v in env.items()]
    alt = " \\\n#   ".join([*env_words, f"{shlex.join(alternative_argv(p))} {MODEL_ARGS}"])
    return (
        "#!/usr/bin/env bash\n"
        f"# gpuwise plan: {p.strategy} on {p.gpus} GPU(s); see plan.txt. Extra arguments go to\n"
        "# train.py (--max-steps N, --lr X, --output-dir DIR).\n"
        "set -euo pipefail\n"
        'cd -- "$(dirname -- "$0")"\n'
        f"{MODEL_VAR}={shlex.quote(model_ref)}\n"
        f'{shlex.join(accelerate_argv())} {MODEL_ARGS} "$@"\n'
        "\n"
        f"# The same run without accelerate's launcher (${MODEL_VAR} as set above); "
        "the variables are what\n"
        "# `accelerate launch` derives from accelerate_config.yaml for train.py's Accelerator.\n"
        f"# {alt}\n"
    )
