"""The compatibility knowledge base (data/compat.json): drivers, architectures, PyTorch wheels.

Pure lookups, no detection and no printing. Versions are compared as tuples of integers
(``"570.124.06"`` -> ``(570, 124, 6)``); compute capabilities as ``(major, minor)``.
"""

from __future__ import annotations

import functools
import re
from dataclasses import dataclass
from typing import Any

from gpuwise.errors import GpuwiseError
from gpuwise.i18n import Message, Text
from gpuwise.packaged import packaged_json

CC = tuple[int, int]

_DRIVER = re.compile(r"^\d{3,4}(\.\d{1,3}){0,2}$")
_VARIANT = re.compile(r"^cu(\d{2})(\d)$")


def parse_driver(text: str) -> tuple[int, ...]:
    """``"535.104.05"`` -> ``(535, 104, 5)``, or GpuwiseError naming what is accepted. A branch
    alone (``"570"``) is accepted and read as any driver of that branch (see driver_at_least)."""
    value = text.strip()
    if not _DRIVER.match(value) or not 300 <= int(value.split(".")[0]) <= 1999:
        raise GpuwiseError(Message("doctor.error.driver", value=repr(text)))
    return tuple(int(p) for p in value.split("."))


def driver_at_least(driver: tuple[int, ...], need: tuple[int, ...]) -> bool:
    """``driver >= need``, compared on the parts the driver gives: ``580.65`` meets
    ``580.65.06`` and ``570`` meets ``570.26`` (a truncated version is not read as older)."""
    return driver >= need[: len(driver)]


def parse_cc(text: str) -> CC:
    major, minor = text.split("+")[0].split(".")
    return int(major), int(minor)


def variant_cuda(variant: str) -> tuple[int, int]:
    """``"cu128"`` -> ``(12, 8)``."""
    m = _VARIANT.match(variant)
    if not m:
        raise ValueError(variant)
    return int(m.group(1)), int(m.group(2))


def cuda_text(cuda: tuple[int, int]) -> str:
    return f"{cuda[0]}.{cuda[1]}"


@dataclass(frozen=True)
class Wheel:
    """One PyTorch release built for one CUDA version (``torch==2.8.* +cu128``)."""

    release: str
    variant: str
    arches: tuple[str, ...]
    ptx_linux_only: bool
    verified: bool
    source: str

    @property
    def cuda(self) -> tuple[int, int]:
        return variant_cuda(self.variant)

    def cubins(self) -> list[CC]:
        return [parse_cc(a) for a in self.arches]

    def ptx(self, os_name: str) -> list[CC]:
        if os_name == "windows" and self.ptx_linux_only:
            return []
        return [parse_cc(a) for a in self.arches if a.endswith("+PTX")]

    def runs_on(self, cc: CC, os_name: str) -> bool:
        """Whether this wheel has code for ``cc``: a cubin of the same major and a minor no
        higher (binary compatibility), or PTX for an older target the driver can JIT."""
        if any(c[0] == cc[0] and c[1] <= cc[1] for c in self.cubins()):
            return True
        return any(p <= cc for p in self.ptx(os_name))

    def arch_list(self, os_name: str) -> list[str]:
        """As ``torch.cuda.get_arch_list()`` prints it: ``sm_XY`` per cubin, ``compute_XY``
        for PTX."""
        out = [f"sm_{a.split('+')[0].replace('.', '')}" for a in self.arches]
        out += [f"compute_{p[0]}{p[1]}" for p in self.ptx(os_name)]
        return out


@dataclass(frozen=True)
class Architecture:
    name: str
    ccs: tuple[CC, ...]
    first_cuda: tuple[int, int] | None
    last_cuda: tuple[int, int] | None
    source: str


class Knowledge:
    """Typed view of data/compat.json."""

    def __init__(self, raw: dict[str, Any]) -> None:
        self.raw = raw
        self.date: str = raw["kb_date"]
        self.sources: dict[str, dict[str, str]] = raw["sources"]
        self.toolkits: list[tuple[tuple[int, int], tuple[int, ...], tuple[int, ...] | None]] = [
            (
                variant_cuda("cu" + r["cuda"].replace(".", "")),
                tuple(int(p) for p in r["linux"].split(".")),
                tuple(int(p) for p in r["windows"].split(".")) if r["windows"] else None,
            )
            for r in raw["cuda_toolkits"]["rows"]
        ]
        self.known_cuda: set[tuple[int, int]] = {tk for tk, _, _ in self.toolkits}
        self.toolkit_text: dict[tuple[tuple[int, int], str], str] = {}
        for r in raw["cuda_toolkits"]["rows"]:
            cuda = variant_cuda("cu" + r["cuda"].replace(".", ""))
            for os_name in ("linux", "windows"):
                if r[os_name]:
                    self.toolkit_text[cuda, os_name] = r[os_name]
        self.family_branch: dict[int, int] = {
            r["cuda_major"]: r["min_driver_branch"] for r in raw["minor_version_compat"]["rows"]
        }
        self.architectures = [
            Architecture(
                a["name"],
                tuple(parse_cc(c) for c in a["cc"]),
                _cuda(a["first_cuda"]),
                _cuda(a["last_cuda"]),
                a["source"],
            )
            for a in raw["architectures"]
        ]
        torch = raw["torch"]
        self.index_url: str = torch["index_url"]
        self.cpu_index_url: str = torch["cpu_index_url"]
        self.releases: list[dict[str, Any]] = torch["releases"]
        self.messages: dict[str, dict[str, str]] = raw["messages"]
        self.libraries: dict[str, dict[str, Any]] = raw["libraries"]

    # --- drivers -------------------------------------------------------------------------
    def toolkit_min_driver(self, cuda: tuple[int, int], os_name: str) -> tuple[int, ...] | None:
        """The driver a toolkit needs for full compatibility (GA row). Where the OS has no row
        (Windows from 13.0 on) the Linux row's branch: ``(595,)`` for CUDA 13.2. None for a
        toolkit the table does not list."""
        for tk, linux, windows in self.toolkits:
            if tk == cuda:
                if os_name == "windows":
                    return windows if windows is not None else linux[:1]
                return linux
        return None

    def known_variants(self) -> list[str]:
        """The ``cuXXX`` tags of the CUDA toolkits gpuwise knows, oldest first."""
        return [f"cu{tk[0]}{tk[1]}" for tk in sorted(self.known_cuda)]

    def driver_cuda(self, driver: tuple[int, ...], os_name: str) -> tuple[int, int] | None:
        """The newest CUDA toolkit a driver fully supports (what nvidia-smi calls 'CUDA
        Version'), from the toolkit table; None if older than every row."""
        best: tuple[int, int] | None = None
        for tk, _, _ in self.toolkits:
            need = self.toolkit_min_driver(tk, os_name)
            if need is not None and driver_at_least(driver, need) and (best is None or tk > best):
                best = tk
        return best

    def driver_runs(self, driver: tuple[int, ...], cuda: tuple[int, int], os_name: str) -> str:
        """ "full", "minor" (minor-version compatibility: runs with a limited feature set) or
        "too_old" for a program built with toolkit ``cuda`` on ``driver``."""
        need = self.toolkit_min_driver(cuda, os_name)
        if need is not None and driver_at_least(driver, need):
            return "full"
        branch = self.family_branch.get(cuda[0])
        if branch is not None and driver[0] >= branch:
            return "minor" if need is not None else "full"
        return "too_old"

    def min_driver_text(self, cuda: tuple[int, int], os_name: str) -> str:
        text = self.toolkit_text.get((cuda, "windows" if os_name == "windows" else "linux"))
        if text is not None:
            return text
        need = self.toolkit_min_driver(cuda, os_name)
        if need is not None:
            return f"{need[0]}"  # the branch: NVIDIA lists no Windows minimum from 13.0 on
        return f"{self.family_branch.get(cuda[0], 0)}"

    # --- architectures -------------------------------------------------------------------
    def architecture(self, cc: CC) -> Architecture | None:
        for arch in self.architectures:
            if cc in arch.ccs:
                return arch
        return None

    # --- wheels --------------------------------------------------------------------------
    def wheels(self, release: dict[str, Any]) -> list[Wheel]:
        ptx_linux = set(release.get("ptx_linux_only", ()))
        return [
            Wheel(
                release["version"],
                variant,
                tuple(arches),
                variant in ptx_linux,
                bool(release["verified"]),
                release["source"],
            )
            for variant, arches in release["variants"].items()
        ]

    def release(self, version: str) -> dict[str, Any] | None:
        for r in self.releases:
            if r["version"] == version:
                return r
        return None

    def release_note(self, release: dict[str, Any]) -> Text:
        """Why a release's PyPI default build is not confirmed, in the language in use."""
        from gpuwise.doctor.said import data_text

        return data_text(release, "default_note") if release.get("default_note") else ""

    def wheel(self, version: str, variant: str) -> tuple[Wheel | None, Text | None]:
        """The wheel ``torch==version+variant``; for a release the file does not list, the
        same variant of the nearest listed release, with a note saying so."""
        rel = self.release(version)
        if rel is not None:
            for w in self.wheels(rel):
                if w.variant == variant:
                    return w, None
            return (
                None,
                Message(
                    "doctor.note.not_published",
                    version=version,
                    variant=variant,
                    builds=", ".join(rel["variants"]),
                ),
            )
        key = _version_key(version)
        candidates = [
            (abs(_version_key(r["version"])[1] - key[1]), r)
            for r in self.releases
            if variant in r["variants"] and r["verified"]
        ]
        if not candidates:
            return None, Message("doctor.note.no_arch_list", version=version, variant=variant)
        _, near = min(candidates, key=lambda t: t[0])
        for w in self.wheels(near):
            if w.variant == variant:
                return w, Message(
                    "doctor.note.assumed_arch_list",
                    version=version,
                    variant=variant,
                    near=near["version"],
                )
        return None, None  # pragma: no cover - the variant is in near's variants

    def default_variant(self, version: str, os_name: str) -> str | None:
        """What ``pip install torch==version`` from PyPI gives: the release's default CUDA
        build on Linux, the CPU build on Windows (pytorch.org's install selector)."""
        if os_name == "windows":
            return "cpu"
        rel = self.release(version)
        if rel is None:
            return None
        variant: str = rel["default_variant"]
        return variant

    def source(self, key: str) -> dict[str, str]:
        return self.sources[key]


def _cuda(text: str | None) -> tuple[int, int] | None:
    if text is None:
        return None
    major, minor = text.split(".")
    return int(major), int(minor)


def _version_key(version: str) -> tuple[int, int]:
    major, minor = version.split(".")[:2]
    return int(major), int(minor)


@functools.lru_cache(maxsize=1)
def load_knowledge() -> Knowledge:
    """The packaged knowledge base."""
    return Knowledge(packaged_json("gpuwise.doctor", "data/compat.json"))
