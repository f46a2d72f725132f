"""Put it together: a machine (detected or described) -> one verdict per card and the install
command for the whole machine."""

from __future__ import annotations

import platform
from dataclasses import dataclass, field

from gpuwise.catalog import Card, Catalog
from gpuwise.doctor.builds import parse_torch
from gpuwise.doctor.install import Install, cpu_install, no_install, recommend
from gpuwise.doctor.knowledge import (
    Knowledge,
    cuda_text,
    load_knowledge,
    parse_cc,
    parse_driver,
    variant_cuda,
)
from gpuwise.doctor.machine import Check, Gpu, Machine, Problem, TorchInfo
from gpuwise.doctor.verdict import CardVerdict, driver_of, torch_wheel, verdict
from gpuwise.errors import GpuwiseError
from gpuwise.units import GIB

#: What doctor looks at, for the "no GPU" message and the docs.
WHAT_IT_CHECKS = (
    "the GPUs and driver (NVML, else nvidia-smi, else torch.cuda)",
    "the compute capability of each card against the architectures compiled into your torch",
    "the driver against the CUDA version torch was built with",
    "bf16/fp16, FlashAttention, torch.compile and bitsandbytes support per card",
    "the pip command for the newest torch that has kernels for your cards and runs on your driver",
)


@dataclass
class Report:
    machine: Machine
    cards: list[CardVerdict]
    install: Install | None
    torch_arch_list: list[str] | None
    what_it_checks: tuple[str, ...] = WHAT_IT_CHECKS
    problems: list[Problem] = field(default_factory=list)


def describe(
    catalog: Catalog,
    cards: list[str],
    driver: str | None,
    torch: str | None,
    os_name: str | None,
) -> Machine:
    """A machine the user describes with flags; nothing on this machine is looked at (beyond
    its OS when --os is not given)."""
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
            raise GpuwiseError(
                f"--card {name!r} has control characters; give a card name like '3090' "
                "(`gpuwise gpus` lists them)"
            )
        card = catalog.find(name)
        m.gpus.append(Gpu(i, card.name, card.compute_capability))
    if torch is not None:
        m.torch = described_torch(torch)
        m.torch_checked = True
    m.checks.append(Check("gpus", "--card", ", ".join(g.name for g in m.gpus)))
    return m


def described_torch(text: str) -> TorchInfo:
    """--torch as a TorchInfo; GpuwiseError (exit 2) for a cuXXX gpuwise does not know."""
    build = parse_torch(text, load_knowledge().known_variants())
    variant = build.variant
    cuda = cuda_text(variant_cuda(variant)) if variant and variant.startswith("cu") else None
    return TorchInfo(build.version, cuda, None, "--torch")


def override(machine: Machine, driver: str | None, torch: str | None, os_name: str | None) -> None:
    """--driver / --torch / --os on top of detection."""
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


def _this_os() -> str:
    system = platform.system().lower()
    return "windows" if system == "windows" else "linux"


def match_card(catalog: Catalog, gpu: Gpu) -> Card | None:
    """The catalogue's card for a detected GPU name ("NVIDIA GeForce RTX 3090"), using the
    memory size to choose between variants ("RTX 4060 Ti" 8 GB / 16 GB)."""
    try:
        return catalog.find(gpu.name)
    except GpuwiseError:
        pass
    if gpu.memory_total_bytes:
        gb = round(gpu.memory_total_bytes / GIB)
        try:
            return catalog.find(f"{gpu.name} {gb}gb")
        except GpuwiseError:
            return None
    return None


def build_report(kb: Knowledge, catalog: Catalog, machine: Machine) -> Report:
    cards: list[CardVerdict] = []
    for gpu in machine.gpus:
        described = machine.mode == "described"
        card = catalog.find(gpu.name) if described else match_card(catalog, gpu)
        cards.append(verdict(kb, machine, gpu, card))
    arches = torch_wheel(kb, machine).arches
    return Report(machine, cards, _machine_install(kb, machine, cards), arches)


def _machine_install(kb: Knowledge, m: Machine, cards: list[CardVerdict]) -> Install:
    if not m.gpus:
        return cpu_install(kb)
    ccs = [parse_cc(c.compute_capability) for c in cards if c.compute_capability]
    if len(cards) == 1 and cards[0].install is not None:
        return cards[0].install
    if not ccs:
        return no_install("no compute capability is known for these cards")
    blocked = any(p.code == "driver_predates_gpu" for c in cards for p in c.problems)
    driver = driver_of(m)[0] if not blocked else None
    return recommend(kb, ccs, driver, m.os) or no_install(
        "no PyTorch wheel gpuwise knows has code for all these cards"
        + (" and runs on this driver" if driver else "")
    )
