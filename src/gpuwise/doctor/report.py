"""Put it together: a machine (detected or described) -> one verdict per card and the install
command for the whole machine."""

from __future__ import annotations

from dataclasses import dataclass, field

from gpuwise.catalog import Card, Catalog
from gpuwise.doctor.frameworks import Frameworks, load_frameworks
from gpuwise.doctor.fw_verdict import framework_verdicts
from gpuwise.doctor.install import Install, cpu_install, no_install, recommend
from gpuwise.doctor.knowledge import (
    CC,
    Knowledge,
    parse_cc,
)
from gpuwise.doctor.machine import Gpu, Machine, Problem
from gpuwise.doctor.support import torch_support
from gpuwise.doctor.verdict import CardVerdict, driver_of, torch_wheel, verdict
from gpuwise.errors import GpuwiseError
from gpuwise.i18n import Message, Text
from gpuwise.units import GIB

#: What doctor looks at, for the "no GPU" message and the docs.
WHAT_IT_CHECKS: tuple[Text, ...] = (
    Message("doctor.checks.gpus"),
    Message("doctor.checks.compute_capability"),
    Message("doctor.checks.driver"),
    Message("doctor.checks.features"),
    Message("doctor.checks.pip"),
    Message("doctor.checks.frameworks"),
)


@dataclass
class Report:
    machine: Machine
    cards: list[CardVerdict]
    install: Install | None
    torch_arch_list: list[str] | None
    what_it_checks: tuple[Text, ...] = WHAT_IT_CHECKS
    problems: list[Problem] = field(default_factory=list)

    @property
    def has_errors(self) -> bool:
        """Whether doctor found an error (``gpuwise doctor`` then exits 1)."""
        return any(p.severity == "error" for p in self.machine.problems) or any(
            c.has_error for c in self.cards
        )


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


def build_report(
    kb: Knowledge, catalog: Catalog, machine: Machine, fw: Frameworks | None = None
) -> Report:
    fw = fw or load_frameworks()
    cards: list[CardVerdict] = []
    for gpu in machine.gpus:
        described = machine.mode == "described"
        card = catalog.find(gpu.name) if described else match_card(catalog, gpu)
        v = verdict(kb, machine, gpu, card)
        if v.compute_capability:
            _beside_torch(kb, fw, machine, v, parse_cc(v.compute_capability))
        cards.append(v)
    arches = torch_wheel(kb, machine).arches
    return Report(machine, cards, _machine_install(kb, machine, cards), arches)


def _beside_torch(kb: Knowledge, fw: Frameworks, m: Machine, v: CardVerdict, cc: CC) -> None:
    """The card's PyTorch range, and TensorFlow and JAX on it (their problems join the card's)."""
    v.support = torch_support(kb, cc, m.os)
    v.frameworks = framework_verdicts(fw, m, cc)
    v.problems += [p for f in v.frameworks for p in f.problems]
    v.problems.sort(key=lambda p: {"error": 0, "warning": 1, "info": 2}.get(p.severity, 3))


def _machine_install(kb: Knowledge, m: Machine, cards: list[CardVerdict]) -> Install:
    if not m.gpus:
        return cpu_install(kb)
    ccs = [parse_cc(c.compute_capability) for c in cards if c.compute_capability]
    if len(cards) == 1 and cards[0].install is not None:
        return cards[0].install
    if not ccs:
        return no_install(Message("doctor.install.cards_cc_unknown"))
    blocked = any(p.code == "driver_predates_gpu" for c in cards for p in c.problems)
    driver = driver_of(m)[0] if not blocked else None
    return recommend(kb, ccs, driver, m.os) or no_install(
        Message("doctor.install.none_for_all_driver" if driver else "doctor.install.none_for_all")
    )
