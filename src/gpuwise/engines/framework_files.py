"""The config file of the framework a plan names (``--framework``), next to the launch files:
LLaMA-Factory's YAML, axolotl's YAML, torchtune's recipe config, TRL's script. The reference
(transformers) and unsloth (its scripts are the user's own) add none."""

from __future__ import annotations

from gpuwise.engines import axolotl_config, llamafactory_config, torchtune_config, trl_script
from gpuwise.models.spec import ModelSpec
from gpuwise.parallel import Parallel
from gpuwise.workload import Workload

#: Every file a framework may add.
FRAMEWORK_FILES = (
    llamafactory_config.FILE,
    axolotl_config.FILE,
    torchtune_config.FILE,
    trl_script.FILE,
)


def framework_files(
    framework: str, spec: ModelSpec, w: Workload, p: Parallel, model_ref: str
) -> dict[str, str]:
    """File name -> text of ``framework``'s config for the plan (empty for the reference)."""
    if framework == "llamafactory":
        return {
            llamafactory_config.FILE: llamafactory_config.llamafactory_yaml(spec, w, p, model_ref)
        }
    if framework == "axolotl":
        return {axolotl_config.FILE: axolotl_config.axolotl_yaml(spec, w, p, model_ref)}
    if framework == "torchtune":
        return {torchtune_config.FILE: torchtune_config.torchtune_yaml(spec, w, p, model_ref)}
    if framework == "trl":
        return {trl_script.FILE: trl_script.trl_py(spec, w, p, model_ref)}
    return {}


def framework_run(framework: str, w: Workload, p: Parallel) -> str | None:
    """The command that starts ``framework`` on its config (None: the reference step, and
    unsloth, whose scripts are the user's own)."""
    if framework == "llamafactory":
        return llamafactory_config.run_command(p)
    if framework == "axolotl":
        return axolotl_config.run_command(p)
    if framework == "torchtune":
        return torchtune_config.run_command(w, p)
    if framework == "trl":
        return trl_script.run_command(p)
    return None


def framework_launch_sh(framework: str, w: Workload, p: Parallel, model_ref: str) -> str | None:
    """launch.sh for a framework plan: the framework on its config, what the plan describes
    (train.py stays beside it as the reference step without the framework's defaults)."""
    run = framework_run(framework, w, p)
    if run is None:
        return None
    return f"""#!/usr/bin/env bash
# gpuwise plan with --framework {framework}: starts {framework} on the config beside this file,
# the run the plan describes (see plan.txt). Extra arguments go to that command.
# train.py and accelerate_config.yaml are gpuwise's reference step (transformers + peft),
# without the framework's defaults, for comparison:
#   accelerate launch --config_file accelerate_config.yaml train.py --model {model_ref}
set -euo pipefail
cd -- "$(dirname -- "$0")"
{run} "$@"
"""
