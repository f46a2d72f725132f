"""Find an installed TensorFlow and JAX: versions from package metadata (not imported); only
when a GPU was found is the framework imported, for what only it knows: TensorFlow's build
(``tf.sysconfig.get_build_info()``: CUDA version, compute capabilities, CUDA or not) and the
GPUs it sees; the GPUs JAX sees. Every contact goes through :class:`~gpuwise.doctor.detect.Probes`.
"""

from __future__ import annotations

import os
from typing import Any

from gpuwise.doctor.frameworks import Frameworks
from gpuwise.doctor.machine import Check, FrameworkInfo, Machine
from gpuwise.i18n import Message, Text

TYPE_CHECKING = False
if TYPE_CHECKING:
    from gpuwise.doctor.detect import Probes


def detect_frameworks(p: Probes, m: Machine, fw: Frameworks) -> None:
    m.tensorflow = _tensorflow(p, m, fw)
    m.jax = _jax(p, m, fw)


def _tensorflow(p: Probes, m: Machine, fw: Frameworks) -> FrameworkInfo | None:
    dist = next((d for d in fw.tf_distributions if p.version(d)), None)
    if dist is None:
        m.checks.append(
            Check("tensorflow", "package metadata", Message("doctor.check.not_installed"))
        )
        return None
    info = FrameworkInfo("tensorflow", str(p.version(dist)), "package metadata", dist)
    if dist == "tensorflow-cpu":
        info.cuda_build = False
    if m.gpus:
        _tensorflow_runtime(p, info)
    found: Text = f"{dist} {info.version}"
    if info.gpus_visible is not None:
        found = Message(
            "doctor.check.tensorflow",
            name=found,
            count=info.gpus_visible,
            cuda=info.build_cuda or Message("doctor.check.none"),
        )
    m.checks.append(Check("tensorflow", info.how, found))
    return info


def _tensorflow_runtime(p: Probes, info: FrameworkInfo) -> None:
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")  # its import logs pages to stderr
    tf = p.import_framework("tensorflow")
    if tf is None:
        info.how += "; import tensorflow failed"
        return
    info.how = "import tensorflow"
    try:
        build: dict[str, Any] = dict(tf.sysconfig.get_build_info())
        info.cuda_build = bool(build.get("is_cuda_build", False))
        info.build_cuda = build.get("cuda_version") or None
        info.arch_list = list(build.get("cuda_compute_capabilities") or []) or None
        info.gpus_visible = len(tf.config.list_physical_devices("GPU"))
    except Exception as e:  # an old or broken TensorFlow
        info.how += f" ({type(e).__name__}: {str(e)[:120]})"


def _jax(p: Probes, m: Machine, fw: Frameworks) -> FrameworkInfo | None:
    version = p.version("jax")
    if version is None:
        m.checks.append(Check("jax", "package metadata", Message("doctor.check.not_installed")))
        return None
    variant = next((v for v, dist in fw.jax_plugins.items() if p.version(dist)), "")
    jaxlib = p.version("jaxlib") or ""
    if not variant and "+cuda" in jaxlib:  # the monolithic CUDA jaxlib of older releases
        variant = "cuda" + jaxlib.split("+cuda")[1][:2]
    info = FrameworkInfo("jax", version, "package metadata", "jax", variant)
    if m.gpus and variant:
        jax = p.import_framework("jax")
        if jax is not None:
            info.how = "import jax"
            try:
                info.gpus_visible = sum(1 for d in jax.devices() if d.platform == "gpu")
            except Exception as e:  # no CUDA backend could start
                info.gpus_visible = 0
                info.how += f" (jax.devices(): {type(e).__name__}: {str(e)[:120]})"
    plugin: Text = f"jax-{variant}-plugin" if variant else Message("doctor.check.no_plugin")
    found = Message("doctor.check.jax", version=version, plugin=plugin)
    if info.gpus_visible is not None:
        found = Message("doctor.check.jax_sees", found=found, count=info.gpus_visible)
    m.checks.append(Check("jax", info.how, found))
    return info
