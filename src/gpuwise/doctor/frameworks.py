"""What doctor knows about TensorFlow's and JAX's GPU builds (data/frameworks.json), and the
version flags that name them.

Pure lookups: which releases exist, which compute capabilities each build has code for, which
Python and driver each needs. The verdicts that use them are in :mod:`gpuwise.doctor.tf_rules`
and :mod:`gpuwise.doctor.jax_rules`.
"""

from __future__ import annotations

import functools
import re
from dataclasses import dataclass
from typing import Any

from gpuwise.doctor.knowledge import CC, parse_cc
from gpuwise.errors import GpuwiseError
from gpuwise.i18n import Message, Text
from gpuwise.packaged import packaged_json

_PRE = r"(?:(?:a|b|rc)\d{1,3})?(?:\.post\d{1,3})?(?:\.dev\d{1,12})?"
_TF = re.compile(r"^(\d{1,2})\.(\d{1,3})(?:\.(\d{1,3}))?" + _PRE + "$")
_JAX = re.compile(r"^(\d{1,2})\.(\d{1,3})(?:\.(\d{1,3}))?(?:\.(\d{1,3}))?" + _PRE + "$")
_PYTHON = re.compile(r"^3\.(\d{1,2})(?:\.\d{1,3})?$")


def _shown(text: str) -> str:
    return repr(text[:40] + ("..." if len(text) > 40 else ""))


def parse_tf_version(text: str) -> tuple[int, int]:
    """``--tensorflow 2.21.0`` -> ``(2, 21)``, or a one-line GpuwiseError naming what is taken."""
    m = _TF.match(text.strip())
    if not m:
        raise GpuwiseError(Message("doctor.error.tensorflow", value=_shown(text)))
    return int(m.group(1)), int(m.group(2))


def parse_jax_version(text: str) -> tuple[int, ...]:
    """``--jax 0.10.2`` -> ``(0, 10, 2, 0)`` (missing parts are 0), or a one-line GpuwiseError."""
    m = _JAX.match(text.strip())
    if not m:
        raise GpuwiseError(Message("doctor.error.jax", value=_shown(text)))
    return tuple(int(g or 0) for g in m.groups())


def parse_python(text: str) -> tuple[int, int]:
    """``--python 3.12`` -> ``(3, 12)``, or a one-line GpuwiseError."""
    m = _PYTHON.match(text.strip())
    if not m:
        raise GpuwiseError(Message("doctor.error.python", value=_shown(text)))
    return 3, int(m.group(1))


def code_for(cubins: tuple[CC, ...], ptx: tuple[CC, ...], cc: CC) -> str | None:
    """``"cubin"`` when a cubin of the same major and no higher minor runs on ``cc``, ``"ptx"``
    when only PTX for an older or equal target can be JIT-compiled for it, else None
    (NVIDIA's binary-compatibility rule, as in :meth:`gpuwise.doctor.knowledge.Wheel.runs_on`)."""
    if any(c[0] == cc[0] and c[1] <= cc[1] for c in cubins):
        return "cubin"
    if any(p <= cc for p in ptx):
        return "ptx"
    return None


def version_text(v: tuple[int, ...]) -> str:
    return ".".join(str(p) for p in v)


@dataclass(frozen=True)
class TfRelease:
    """One TensorFlow release of the tested-build table."""

    version: tuple[int, int]
    python: tuple[tuple[int, int], tuple[int, int]]
    cuda: tuple[int, int]
    cudnn: str
    group: str
    min_cc: CC
    cubins: tuple[CC, ...]
    ptx: tuple[CC, ...]
    verified: bool
    windows_native_gpu: bool

    @property
    def text(self) -> str:
        return version_text(self.version)

    def code_for(self, cc: CC) -> str | None:
        return code_for(self.cubins, self.ptx, cc) if cc >= self.min_cc else None


@dataclass(frozen=True)
class JaxBuild:
    """One CUDA variant (``cuda12``, ``cuda13``) of a range of JAX releases."""

    variant: str
    cubins: tuple[CC, ...]
    ptx: tuple[CC, ...]

    def code_for(self, cc: CC) -> str | None:
        return code_for(self.cubins, self.ptx, cc)


@dataclass(frozen=True)
class JaxRelease:
    """JAX releases ``first``-``last`` (same Python floor and same CUDA builds)."""

    first: tuple[int, ...]
    last: tuple[int, ...]
    python_min: tuple[int, int]
    builds: tuple[JaxBuild, ...]  # newest CUDA first

    def covers(self, version: tuple[int, ...]) -> bool:
        return self.first <= version <= self.last


def _py(text: str) -> tuple[int, int]:
    major, minor = text.split(".")
    return int(major), int(minor)


def _ver(text: str) -> tuple[int, ...]:
    parts = tuple(int(p) for p in text.split("."))
    return parts + (0,) * (4 - len(parts))


class Frameworks:
    """Typed view of data/frameworks.json."""

    def __init__(self, raw: dict[str, Any]) -> None:
        self.raw = raw
        self.date: str = raw["kb_date"]
        self.sources: dict[str, dict[str, str]] = raw["sources"]
        tf = raw["tensorflow"]
        self.tf_messages: dict[str, str] = {k: v["text"] for k, v in tf["messages"].items()}
        self.tf_distributions: list[str] = tf["distributions"]
        self.tf_and_cuda_from: tuple[int, int] = _py(tf["and_cuda_from"]["version"])
        self.tf_windows_last: tuple[int, int] = _py(tf["windows_native_gpu_last"]["version"])
        self.tf_windows_command: str = tf["windows_native_gpu_last"]["command"]
        self.tf_min_driver = {r["cuda_major"]: r for r in tf["min_driver"]["rows"]}
        fails = tf["fails_from_cc"]
        self.tf_fails_cc: CC = parse_cc(fails["cc"])
        self.tf_fails_through: tuple[int, int] = _py(fails["through"])
        self.tf_fails_inferred: set[tuple[int, int]] = {_py(v) for v in fails["inferred_for"]}
        self.tf_releases = [self._tf_release(r, tf["arch_groups"]) for r in tf["releases"]]
        jax = raw["jax"]
        self.jax_plugins: dict[str, str] = jax["plugins"]
        self.jax_min_driver: dict[str, int] = {
            r["variant"]: int(r["linux"]) for r in jax["min_driver"]["rows"]
        }
        self.jax_releases = [
            JaxRelease(
                _ver(r["from"]),
                _ver(r["to"]),
                _py(r["python_min"]),
                tuple(
                    JaxBuild(
                        name,
                        tuple(parse_cc(c) for c in b["cubins"]),
                        tuple(parse_cc(c) for c in b["ptx"]),
                    )
                    for name, b in r["variants"].items()
                ),
            )
            for r in jax["releases"]
        ]

    @staticmethod
    def _tf_release(r: dict[str, Any], groups: dict[str, Any]) -> TfRelease:
        g = groups[r["arch_group"]]
        return TfRelease(
            _py(r["version"]),
            (_py(r["python"][0]), _py(r["python"][1])),
            _py(r["cuda"]),
            r["cudnn"],
            r["arch_group"],
            parse_cc(g["min_cc"]),
            tuple(parse_cc(c) for c in g["cubins"]),
            tuple(parse_cc(c) for c in g["ptx"]),
            bool(g["verified"]),
            bool(r.get("windows_native_gpu", False)),
        )

    def tf_release(self, version: tuple[int, int]) -> TfRelease | None:
        return next((r for r in self.tf_releases if r.version == version), None)

    def tf_group_note(self, group: str) -> Text | None:
        """Why an arch group is not confirmed, in the language in use (None: no note)."""
        from gpuwise.doctor.said import data_text

        entry = self.raw["tensorflow"]["arch_groups"][group]
        return data_text(entry, "note") if entry.get("note") else None

    def tf_driver_text(self, release: TfRelease, os_name: str) -> str:
        """The driver a release's CUDA needs, as nvidia-smi prints it (WSL: the Windows one)."""
        text: str = self.tf_min_driver[release.cuda[0]]["wsl" if os_name == "windows" else "linux"]
        return text

    def tf_driver_need(self, release: TfRelease, os_name: str) -> tuple[int, ...]:
        return tuple(int(p) for p in self.tf_driver_text(release, os_name).split("."))

    def tf_fails(self, release: TfRelease, cc: CC) -> bool:
        """Whether reports say this release's pip wheels fail on this (RTX 50) card."""
        return cc >= self.tf_fails_cc and release.version <= self.tf_fails_through

    def jax_release(self, version: tuple[int, ...]) -> JaxRelease | None:
        v = version + (0,) * (4 - len(version))
        return next((r for r in self.jax_releases if r.covers(v)), None)

    def tf_range(self) -> str:
        return f"{self.tf_releases[-1].text}-{self.tf_releases[0].text}"

    def jax_range(self) -> str:
        return f"{_short(self.jax_releases[-1].first)}-{_short(self.jax_releases[0].last)}"


def _short(v: tuple[int, ...]) -> str:
    return version_text(v[:3]) + (f".{v[3]}" if len(v) > 3 and v[3] else "")


def jax_text(v: tuple[int, ...]) -> str:
    """``(0, 10, 2, 0)`` -> ``"0.10.2"``."""
    return _short(v)


@functools.lru_cache(maxsize=1)
def load_frameworks() -> Frameworks:
    """The packaged TensorFlow / JAX knowledge."""
    return Frameworks(packaged_json("gpuwise.doctor", "data/frameworks.json"))
