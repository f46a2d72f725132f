"""TensorFlow and JAX beside PyTorch, for each card: the install command for the card, driver,
OS and Python, and, for an installed or described version, what fails and why."""

from __future__ import annotations

from collections.abc import Callable
from typing import TypeVar

from gpuwise.doctor.frameworks import Frameworks, parse_jax_version, parse_python, parse_tf_version
from gpuwise.doctor.fw_types import Context, FrameworkVerdict
from gpuwise.doctor.jax_rules import jax_verdict
from gpuwise.doctor.knowledge import CC, parse_driver
from gpuwise.doctor.machine import FrameworkInfo, Machine, Problem
from gpuwise.doctor.tf_rules import tf_verdict
from gpuwise.errors import GpuwiseError
from gpuwise.i18n import Message

T = TypeVar("T")


def context(m: Machine) -> Context:
    """The OS, Python and driver the rules use (an unreadable detected driver: unknown)."""
    try:
        driver = parse_driver(m.driver) if m.driver else None
    except GpuwiseError:
        driver = None
    try:
        python: tuple[int, int] | None = parse_python(m.python)
    except GpuwiseError:
        python = None
    return Context(m.os, python, driver)


def framework_verdicts(fw: Frameworks, m: Machine, cc: CC) -> list[FrameworkVerdict]:
    ctx = context(m)
    tf, jax = m.tensorflow, m.jax
    tf_version = _quiet(parse_tf_version, tf.version) if tf else None
    jax_version = _quiet(parse_jax_version, jax.version) if jax else None
    out = [
        tf_verdict(fw, cc, ctx, tf_version, tf.version if tf else None, tf.how if tf else None),
        jax_verdict(
            fw,
            cc,
            ctx,
            jax_version,
            jax.version if jax else None,
            jax.how if jax else None,
            jax.variant if jax else None,
        ),
    ]
    for info, v in ((tf, out[0]), (jax, out[1])):
        if info is not None:
            v.problems += _seen(info, v)
    return out


def _seen(info: FrameworkInfo, v: FrameworkVerdict) -> list[Problem]:
    """What a detected framework showed when imported: a CPU-only build, or no GPU seen."""
    fix = v.install.command or v.install.note
    if info.name == "tensorflow" and info.cuda_build is False:
        return [
            Problem(
                "tensorflow_not_cuda",
                "warning",
                Message(
                    "doctor.fw.tensorflow_cpu_only",
                    distribution=info.distribution,
                    version=info.version,
                    fix=fix,
                ),
            )
        ]
    if info.gpus_visible == 0 and (info.name == "tensorflow" or info.variant):
        seen = (
            "tf.config.list_physical_devices('GPU')"
            if info.name == "tensorflow"
            else "jax.devices()"
        )
        return [
            Problem(
                f"{info.name}_gpu_not_found",
                "warning",
                Message(
                    "doctor.fw.gpu_not_found",
                    name=info.name,
                    version=info.version,
                    seen=seen,
                    fix=fix,
                ),
            )
        ]
    return []


def _quiet(parse: Callable[[str], T], text: str) -> T | None:
    """A detected version gpuwise cannot read is no error (a flag was checked already)."""
    try:
        return parse(text)
    except GpuwiseError:
        return None
