"""The install command: the newest PyTorch whose wheel has code for every card and whose CUDA
the driver runs."""

from __future__ import annotations

from dataclasses import dataclass

from gpuwise.doctor.knowledge import CC, Knowledge, Wheel, cuda_text
from gpuwise.i18n import Message, Text


@dataclass
class Install:
    """``pip install "torch==2.14.*" --index-url https://download.pytorch.org/whl/cu130``."""

    command: str | None
    torch: str | None
    cuda: str | None
    index_url: str | None
    min_driver: str | None
    driver_compat: str
    note: Text


def cpu_install(kb: Knowledge) -> Install:
    return Install(
        f"pip install torch --index-url {kb.cpu_index_url}",
        None,
        "cpu",
        kb.cpu_index_url,
        None,
        "none",
        Message("doctor.install.cpu"),
    )


def no_install(why: Text) -> Install:
    """No wheel fits: every key is present, ``command`` and ``cuda`` are null, ``note`` says
    why (``install.command`` always exists in the JSON)."""
    return Install(None, None, None, None, None, "none", why)


def recommend(
    kb: Knowledge, ccs: list[CC], driver: tuple[int, ...] | None, os_name: str
) -> Install | None:
    """The wheel to install for cards ``ccs`` on ``driver`` (None: unknown, assumed updatable),
    or None when no wheel gpuwise knows covers them."""
    for release in kb.releases:
        if not release["verified"]:
            continue  # proposed or unconfirmed rows never drive an install command
        wheels = [w for w in kb.wheels(release) if all(w.runs_on(cc, os_name) for cc in ccs)]
        if driver is not None:
            wheels = [w for w in wheels if kb.driver_runs(driver, w.cuda, os_name) != "too_old"]
        if not wheels:
            continue
        return _install(kb, _pick(kb, wheels, release, driver, os_name), driver, os_name)
    return None


def _pick(
    kb: Knowledge, wheels: list[Wheel], release: dict, driver: tuple[int, ...] | None, os: str
) -> Wheel:
    if driver is None:
        default = [w for w in wheels if w.variant == release.get("default_variant")]
        return default[0] if default else max(wheels, key=lambda w: w.cuda)
    full = [w for w in wheels if kb.driver_runs(driver, w.cuda, os) == "full"]
    if full:
        return max(full, key=lambda w: w.cuda)
    return min(wheels, key=lambda w: w.cuda)  # minor-version compatibility: stay closest


def _install(kb: Knowledge, w: Wheel, driver: tuple[int, ...] | None, os_name: str) -> Install:
    url = kb.index_url.format(variant=w.variant)
    need = kb.min_driver_text(w.cuda, os_name)
    compat = "unknown" if driver is None else kb.driver_runs(driver, w.cuda, os_name)
    key = {"unknown": "doctor.install.needs", "minor": "doctor.install.minor"}.get(
        compat, "doctor.install.runs"
    )
    return Install(
        f'pip install "torch=={w.release}.*" --index-url {url}',
        w.release,
        w.variant,
        url,
        need,
        compat,
        Message("doctor.install.note", note=Message(key, need=need, cuda=cuda_text(w.cuda))),
    )
