"""JAX on one card: what a given release does there, and the ``pip`` command for the newest
release whose CUDA build (``jax[cuda13]`` or ``jax[cuda12]``) has code for the card and runs on
the driver, OS and Python.

Rules (sources in data/frameworks.json): the CUDA 13 wheels start at CC 7.5 and need a driver
>= 580, the CUDA 12 wheels start at CC 5.0 (JAX says 5.2) and need >= 525 (Linux); JAX
publishes no NVIDIA GPU wheels for native Windows (WSL2: experimental).
"""

from __future__ import annotations

from gpuwise.doctor import fw_types as ft
from gpuwise.doctor.frameworks import Frameworks, JaxBuild, JaxRelease, jax_text
from gpuwise.doctor.knowledge import CC
from gpuwise.doctor.machine import Problem
from gpuwise.i18n import Message, Text


def jax_verdict(
    fw: Frameworks,
    cc: CC,
    ctx: ft.Context,
    version: tuple[int, ...] | None,
    given: str | None,
    how: str | None,
    variant: str | None,
) -> ft.FrameworkVerdict:
    """JAX on a card of compute capability ``cc``. ``variant``: the CUDA plugin installed
    (``cuda12``, ``cuda13``, ``""`` for none), None when not known (a --jax flag)."""
    works = [r for r in fw.jax_releases if any(_works(b, cc) for b in r.builds)]
    v = ft.FrameworkVerdict(
        "jax",
        given,
        how,
        jax_install(fw, cc, ctx),
        jax_text(works[-1].first) if works else None,
        jax_text(works[0].last) if works else None,
    )
    if version is not None:
        v.problems = jax_problems(fw, cc, ctx, version, given or "", variant)
    return v


def _works(b: JaxBuild, cc: CC) -> bool:
    """Code for the card: a cubin, or PTX for this very architecture (PTX for an older one,
    JIT-compiled for a newer GPU, is unconfirmed for JAX and not counted)."""
    code = b.code_for(cc)
    return code == "cubin" or (code == "ptx" and max(b.ptx) >= cc)


def jax_problems(
    fw: Frameworks,
    cc: CC,
    ctx: ft.Context,
    version: tuple[int, ...],
    given: str,
    variant: str | None,
) -> list[Problem]:
    r = fw.jax_release(version)
    if r is None:
        return [
            Problem(
                "jax_not_in_table",
                "info",
                Message("doctor.jax.not_in_table", version=given, range=fw.jax_range()),
            )
        ]
    out: list[Problem] = []
    if ctx.os == "windows":
        out.append(
            Problem(
                "jax_windows_no_gpu",
                "error",
                Message("doctor.jax.windows_no_gpu"),
            )
        )
    if ctx.python is not None and ctx.python < r.python_min:
        out.append(
            Problem(
                "jax_python_unsupported",
                "error",
                Message(
                    "doctor.jax.python_unsupported",
                    version=given,
                    need=ft.py_text(r.python_min),
                    python=ft.py_text(ctx.python),
                ),
            )
        )
    if variant == "":
        out.append(
            Problem(
                "jax_cpu_only",
                "warning",
                Message("doctor.jax.cpu_only", version=given),
            )
        )
        return out
    builds = [b for b in r.builds if variant is None or b.variant == variant]
    out += _build_problems(fw, r, builds, cc, ctx, given)
    return out


def _build_problems(
    fw: Frameworks,
    r: JaxRelease,
    builds: list[JaxBuild],
    cc: CC,
    ctx: ft.Context,
    given: str,
) -> list[Problem]:
    names: Text = " / ".join(f"jax[{b.variant}]" for b in builds) or Message(
        "doctor.jax.this_build"
    )
    with_code = [b for b in builds if b.code_for(cc)]
    if not with_code:
        others = [b.variant for b in r.builds if b.code_for(cc) and b not in builds]
        hint: Text = Message("doctor.jax.other_build", build=others[0]) if others else ""
        return [
            Problem(
                "jax_gpu_unsupported",
                "error",
                Message(
                    "doctor.jax.no_kernels",
                    version=given,
                    names=names,
                    cc=ft.cc_text(cc),
                    hint=hint,
                ),
            )
        ]
    out: list[Problem] = []
    if all(b.code_for(cc) == "ptx" and max(b.ptx) < cc for b in with_code):
        out.append(
            Problem(
                "jax_ptx_jit",
                "warning",
                Message("doctor.jax.ptx_jit", version=given, cc=ft.cc_text(cc)),
            )
        )
    if ctx.driver is not None and ctx.os != "windows":
        runnable = [b for b in with_code if ctx.driver[0] >= fw.jax_min_driver[b.variant]]
        if not runnable:
            need = min(fw.jax_min_driver[b.variant] for b in with_code)
            out.append(
                Problem(
                    "jax_driver_too_old",
                    "error",
                    Message(
                        "doctor.jax.driver_too_old",
                        version=given,
                        builds=" / ".join(f"jax[{b.variant}]" for b in with_code),
                        need=str(need),
                    ),
                )
            )
    return out


def jax_install(fw: Frameworks, cc: CC, ctx: ft.Context) -> ft.FrameworkInstall:
    """The newest JAX with a CUDA build that has code for the card, takes this Python and runs
    on this driver; ``cuda13`` before ``cuda12`` (JAX recommends migrating to CUDA 13)."""
    for r in fw.jax_releases:
        if ctx.python is not None and ctx.python < r.python_min:
            continue
        for b in r.builds:
            need = fw.jax_min_driver[b.variant]
            if not _works(b, cc) or (ctx.driver is not None and ctx.driver[0] < need):
                continue
            version = jax_text(r.last)
            note: Text = Message("doctor.jax.needs_driver", need=str(need))
            if ctx.os == "windows":
                note = Message("doctor.jax.in_wsl", note=note)
            return ft.FrameworkInstall(
                f'pip install -U "jax[{b.variant}]=={version}"', version, b.variant, str(need), note
            )
    if not any(_works(b, cc) for r in fw.jax_releases for b in r.builds):
        return ft.no_build(Message("doctor.jax.none_for_cc", cc=ft.cc_text(cc)))
    if ctx.python is not None and all(ctx.python < r.python_min for r in fw.jax_releases):
        return ft.no_build(Message("doctor.jax.none_for_python", python=ft.py_text(ctx.python)))
    low = min(fw.jax_min_driver.values())
    return ft.no_build(Message("doctor.jax.none_for_driver", need=str(low)))
