"""A machine the user describes with flags (--card, --driver, --torch, --os, --tensorflow,
--jax, --python), or those flags on top of detection. Every flag that names a version is
checked here, before anything is detected: bad input is one line and exit code 2."""

from __future__ import annotations

import platform
from dataclasses import dataclass

from gpuwise.catalog import Catalog
from gpuwise.doctor.builds import parse_torch
from gpuwise.doctor.frameworks import parse_jax_version, parse_python, parse_tf_version
from gpuwise.doctor.knowledge import cuda_text, load_knowledge, parse_driver, variant_cuda
from gpuwise.doctor.machine import Check, FrameworkInfo, Gpu, Machine, TorchInfo
from gpuwise.errors import GpuwiseError
from gpuwise.i18n import Message


@dataclass
class Described:
    """What the user said about the machine instead of detecting it (flags); None: not said."""

    driver: str | None = None
    torch: str | None = None
    os: str | None = None
    tensorflow: str | None = None
    jax: str | None = None
    python: str | None = None

    def check(self) -> None:
        """Every flag that names a version is one, else GpuwiseError (exit 2)."""
        if self.driver is not None:
            parse_driver(self.driver)
        if self.torch is not None:
            parse_torch(self.torch, load_knowledge().known_variants())
        if self.tensorflow is not None:
            parse_tf_version(self.tensorflow)
        if self.jax is not None:
            parse_jax_version(self.jax)
        if self.python is not None:
            parse_python(self.python)


def describe(
    catalog: Catalog,
    cards: list[str],
    driver: str | None,
    torch: str | None,
    os_name: str | None,
    more: Described | None = None,
) -> Machine:
    """A machine the user describes with flags; nothing on this machine is looked at (beyond
    its OS and Python when --os / --python are not given). ``more``: --tensorflow, --jax,
    --python."""
    if driver is not None:
        parse_driver(driver)
    m = Machine(
        mode="described",
        os=os_name or _this_os(),
        os_detail="described with flags",
        python=platform.python_version(),
        driver=driver.strip() if driver else None,
        driver_given=driver is not None,
        gpu_source="--card",
    )
    for i, name in enumerate(cards):
        if not name.isprintable():
            raise GpuwiseError(Message("doctor.error.card_control", value=repr(name)))
        card = catalog.find(name)
        m.gpus.append(Gpu(i, card.name, card.compute_capability))
    if torch is not None:
        m.torch = described_torch(torch)
        m.torch_checked = True
    m.checks.append(Check("gpus", "--card", ", ".join(g.name for g in m.gpus)))
    _describe_frameworks(m, more)
    return m


def _describe_frameworks(m: Machine, more: Described | None) -> None:
    """--tensorflow / --jax / --python on a machine (described or detected)."""
    if more is None:
        return
    more.check()
    if more.tensorflow is not None:
        m.tensorflow = FrameworkInfo("tensorflow", more.tensorflow.strip(), "--tensorflow")
    if more.jax is not None:
        m.jax = FrameworkInfo("jax", more.jax.strip(), "--jax")
    if more.python is not None:
        m.python = more.python.strip()
        m.python_given = True


def described_torch(text: str) -> TorchInfo:
    """--torch as a TorchInfo; GpuwiseError (exit 2) for a cuXXX gpuwise does not know."""
    build = parse_torch(text, load_knowledge().known_variants())
    variant = build.variant
    cuda = cuda_text(variant_cuda(variant)) if variant and variant.startswith("cu") else None
    return TorchInfo(build.version, cuda, None, "--torch")


def override(
    machine: Machine,
    driver: str | None,
    torch: str | None,
    os_name: str | None,
    more: Described | None = None,
) -> None:
    """--driver / --torch / --os (and --tensorflow / --jax / --python) on top of detection."""
    if driver is not None:
        parse_driver(driver)
        machine.driver = driver.strip()
        machine.driver_given = True
        machine.checks.append(Check("driver", "--driver", driver))
    if torch is not None:
        machine.torch = described_torch(torch)
        machine.torch_checked = True
    if os_name is not None:
        machine.os = os_name
    _describe_frameworks(machine, more)


def _this_os() -> str:
    system = platform.system().lower()
    return "windows" if system == "windows" else "linux"
