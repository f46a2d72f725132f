"""What accelerate's own launcher makes of the emitted files, run in-process (no GPU needed).

``accelerate launch --config_file accelerate_config.yaml train.py`` parses its command line,
merges the config file (``_validate_launch_command``), derives the training process's
environment (``prepare_multi_gpu_env`` / ``prepare_deepspeed_cmd_env``), and the Accelerator in
that process builds its plugins from the environment. These helpers do the same steps with
accelerate's functions, so a test sees what a real launch would.
"""

from __future__ import annotations

import os
import shlex
from contextlib import contextmanager
from pathlib import Path

from accelerate.commands.launch import _validate_launch_command, launch_command_parser
from accelerate.utils.launch import (
    prepare_deepspeed_cmd_env,
    prepare_multi_gpu_env,
    prepare_simple_launcher_cmd_env,
)

from gpuwise.engines import launch_files, write_launch_files

#: Variables accelerate's launcher sets that the training process reads.
PREFIXES = ("ACCELERATE_", "FSDP_", "PARALLELISM_CONFIG_")


def emit(tmp_path: Path, spec, w, p, model_ref: str = "some-org/some-model", **kw) -> Path:
    folder = tmp_path / "launch"
    write_launch_files(folder, launch_files(spec, w, p, model_ref=model_ref, **kw))
    return folder


def script_model(text: str) -> str:
    """The model launch.sh sets once (``MODEL=...``), as the shell reads it."""
    (line,) = [ln for ln in text.splitlines() if ln.startswith("MODEL=")]
    (word,) = shlex.split(line)
    return word.removeprefix("MODEL=")


def accelerate_command(folder: Path) -> list[str]:
    """The ``accelerate launch`` words of launch.sh (without the leading ``accelerate launch``),
    with ``$MODEL`` replaced by the model the script sets."""
    text = (folder / "launch.sh").read_text()
    for line in text.splitlines():
        if line.startswith("accelerate launch "):
            words = shlex.split(line)
            model = script_model(text)
            return [model if w == "$MODEL" else w for w in words[2:] if w != "$@"]
    raise AssertionError("launch.sh has no accelerate launch line")


def alternative_command(folder: Path) -> tuple[dict[str, str], list[str]]:
    """The commented bare launch of launch.sh: its variables and its command words."""
    text = (folder / "launch.sh").read_text()
    start = text.index("# The same run without")
    body = [ln.removeprefix("#").strip() for ln in text[start:].splitlines()[2:]]
    words = shlex.split(" ".join(b.removesuffix("\\").strip() for b in body))
    words = [script_model(text) if w == "$MODEL" else w for w in words]
    env = {}
    while "=" in words[0]:
        key, value = words.pop(0).split("=", 1)
        env[key] = value
    return env, words


@contextmanager
def clean_env(**values: str):
    """Only ``values`` among the launcher's variables; the rest of os.environ kept."""
    saved = dict(os.environ)
    try:
        for key in list(os.environ):
            if key.startswith(PREFIXES):
                del os.environ[key]
        os.environ.update(values)
        yield
    finally:
        os.environ.clear()
        os.environ.update(saved)


def launcher_env(folder: Path) -> tuple[object, dict[str, str]]:
    """accelerate's parsed launch args and the launcher variables it gives train.py."""
    argv = accelerate_command(folder)
    argv[argv.index("--config_file") + 1] = str(folder / "accelerate_config.yaml")
    with clean_env():
        args = launch_command_parser().parse_args(argv)
        args, defaults, mp_from_config = _validate_launch_command(args)
        if args.use_deepspeed:
            fields = list(defaults.deepspeed_config) + (["mixed_precision"] * mp_from_config)
            args.deepspeed_fields_from_accelerate_config = ",".join(fields)
            _, env = prepare_deepspeed_cmd_env(args)
        elif args.use_fsdp or args.multi_gpu:
            env = prepare_multi_gpu_env(args)
        else:
            _, env = prepare_simple_launcher_cmd_env(args)
    return args, {k: v for k, v in env.items() if k.startswith(PREFIXES)}
