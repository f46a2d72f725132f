"""The launch files of a plan, as text, and the checks that keep user text out of their code.

What the user named the model by (a path, an HF id), the model's name and type, and the folder
names a path resolves through all end up in the files: a newline there would end a comment in
launch.sh and start a command. So a local model path is checked after it is resolved, and every
emitted text is checked as a whole; each refusal is one line. Writing the files into the user's
folder is :mod:`gpuwise.engines.emit_dir`.
"""

from __future__ import annotations

import json
import re
import unicodedata
from pathlib import Path

from gpuwise.engines.accelerate_config import DS_CONFIG_FILE, accelerate_config
from gpuwise.engines.deepspeed_config import deepspeed_config
from gpuwise.engines.emit_dir import write_launch_files
from gpuwise.engines.launch import CONFIG_FILE, launch_sh
from gpuwise.engines.plan_text import plan_txt
from gpuwise.engines.train_script import train_py
from gpuwise.engines.yaml_text import dump
from gpuwise.errors import GpuwiseError
from gpuwise.i18n import Message, known
from gpuwise.models.spec import ModelSpec
from gpuwise.parallel import Parallel
from gpuwise.workload import Workload

__all__ = ["HEADER", "LAUNCH_FILES", "launch_files", "launch_ref", "write_launch_files"]

#: Every file some plan writes (a plan writes a subset; a framework's config comes on top:
#: gpuwise.engines.framework_files.FRAMEWORK_FILES).
LAUNCH_FILES = (CONFIG_FILE, "launch.sh", "train.py", "plan.txt", DS_CONFIG_FILE)

HEADER = "# Written by `gpuwise plan --emit` for accelerate >= 1.10 (FSDP2); see plan.txt\n"

#: Characters a shell, an editor or a terminal acts on instead of showing: controls (newline,
#: carriage return, ESC, DEL, C1), format characters (bidi overrides, zero-width), lone
#: surrogates (a file name that is not UTF-8) and line / paragraph separators.
UNSAFE_CATEGORIES = frozenset({"Cc", "Cf", "Cs", "Zl", "Zp"})
_NOT_PLAIN_ASCII = re.compile(r"[^\x20-\x7e]")


def unsafe_char(text: str) -> str | None:
    """The first character of ``text`` in :data:`UNSAFE_CATEGORIES`, or None."""
    for m in _NOT_PLAIN_ASCII.finditer(text):
        if unicodedata.category(m.group()) in UNSAFE_CATEGORIES:
            return m.group()
    return None


def _refuse_unsafe(what: Message, text: str, fix: Message) -> None:
    bad = unsafe_char(text)
    if bad is not None:
        raise GpuwiseError(
            Message("engines.unsafe", what=what, text=repr(text), char=repr(bad), fix=fix)
        )


def launch_ref(model_ref: str) -> str:
    """``model_ref`` as the launch files load it: a local path absolute and resolved (launch.sh
    runs from its own folder), anything else (an HF id) as given.

    Refused, in one line, when the name or its resolved form (the current folder's name, a
    symbolic link's target) holds a control, format or separator character.
    """
    fix = Message("engines.fix.rename_path")
    _refuse_unsafe(Message("engines.what.model_name"), model_ref, fix)
    try:
        local = Path(model_ref).expanduser()
        if local.exists():
            model_ref = str(local.resolve())
    except (OSError, RuntimeError) as e:  # unreadable folder, name too long, unknown ~user
        said = getattr(e, "strerror", None)
        why = known("os.", said) if said else str(e)
        raise GpuwiseError(
            Message("engines.cannot_resolve", path=repr(model_ref), why=why)
        ) from None
    _refuse_unsafe(Message("engines.what.resolved_path"), model_ref, fix)
    return model_ref


def launch_files(
    spec: ModelSpec,
    w: Workload,
    p: Parallel,
    *,
    model_ref: str,
    host_ram_bytes: int | None = None,
    framework: str = "transformers",
) -> dict[str, str]:
    """File name (relative) -> text, for a training workload run with strategy ``p``.

    ``model_ref``: what the user named the model by (an HF id, a model folder or a config.json;
    a local path is written absolute, see :func:`launch_ref`). ``host_ram_bytes``: the host
    memory the plan needs for offloaded state, stated in plan.txt (None: not computed).
    """
    if w.task != "train":
        raise GpuwiseError(Message("engines.train_only"))
    model_ref = launch_ref(model_ref)
    fix = Message("engines.fix.config")
    _refuse_unsafe(Message("engines.what.models_name"), spec.name, fix)
    _refuse_unsafe(Message("engines.what.model_type"), spec.model_type, fix)
    files = {
        CONFIG_FILE: HEADER + dump(accelerate_config(spec, w, p)),
        "launch.sh": launch_sh(spec, w, p, model_ref),
        "train.py": train_py(spec, w, p, model_ref),
        "plan.txt": plan_txt(spec, w, p, model_ref, host_ram_bytes),
    }
    if p.engine == "deepspeed":
        cfg = deepspeed_config(spec, w, p)
        files[DS_CONFIG_FILE] = json.dumps(cfg, indent=2, allow_nan=False) + "\n"
    if framework != "transformers":
        from gpuwise.engines.framework_files import framework_files, framework_launch_sh

        files.update(framework_files(framework, spec, w, p, model_ref))
        launch = framework_launch_sh(framework, w, p, model_ref)
        if launch is not None:  # the framework's run, not the reference step's
            files["launch.sh"] = launch
    for name, text in files.items():  # whatever else reached the text from the user's input
        for line in text.split("\n"):
            what = Message("engines.what.line", name=name)
            _refuse_unsafe(what, line, Message("engines.fix.rename_model"))
    return files
