"""What doctor says about TensorFlow or JAX on one card: the install command that works for the
card, driver, OS and Python, and the oldest and newest release that has code for the card."""

from __future__ import annotations

from dataclasses import dataclass, field

from gpuwise.doctor.machine import Problem
from gpuwise.i18n import Text


@dataclass
class FrameworkInstall:
    """``pip install "tensorflow[and-cuda]==2.21.*"``; ``command`` is None when no build fits
    (``note`` says why)."""

    command: str | None
    version: str | None
    variant: str | None
    min_driver: str | None
    note: Text


@dataclass
class Context:
    """The machine as the framework rules need it."""

    os: str
    python: tuple[int, int] | None
    driver: tuple[int, ...] | None


@dataclass
class FrameworkVerdict:
    """One framework on one card. ``version`` and ``how`` are the installed or described
    version (None when neither); ``oldest`` / ``newest``: the releases in gpuwise's table with
    code for the card."""

    name: str
    version: str | None
    how: str | None
    install: FrameworkInstall
    oldest: str | None
    newest: str | None
    problems: list[Problem] = field(default_factory=list)


def no_build(why: Text) -> FrameworkInstall:
    return FrameworkInstall(None, None, None, None, why)


def cc_text(cc: tuple[int, int]) -> str:
    return f"{cc[0]}.{cc[1]}"


def py_text(py: tuple[int, int]) -> str:
    return f"{py[0]}.{py[1]}"
