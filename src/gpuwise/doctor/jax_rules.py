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
                f"JAX {given} is not in gpuwise's table ({fw.jax_range()}); its GPU checks "
                "are skipped",
            )
        ]
    out: list[Problem] = []
    if ctx.os == "windows":
        out.append(
            Problem(
                "jax_windows_no_gpu",
                "error",
                "JAX has no NVIDIA GPU wheels for native Windows (JAX lists it as 'no'); in "
                'WSL2 (experimental): pip install -U "jax[cuda13]"',
            )
        )
    if ctx.python is not None and ctx.python < r.python_min:
        out.append(
            Problem(
                "jax_python_unsupported",
                "error",
                f"JAX {given} needs Python >= {ft.py_text(r.python_min)}, "
                f"not {ft.py_text(ctx.python)}",
            )
        )
    if variant == "":
        out.append(
            Problem(
                "jax_cpu_only",
                "warning",
                f"jax {given} is installed without a CUDA plugin (jax-cuda13-plugin or "
                'jax-cuda12-plugin): it runs on the CPU; pip install -U "jax[cuda13]" (or '
                '"jax[cuda12]")',
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
    names = " / ".join(f"jax[{b.variant}]" for b in builds) or "this build"
    with_code = [b for b in builds if b.code_for(cc)]
    if not with_code:
        others = [b.variant for b in r.builds if b.code_for(cc) and b not in builds]
        hint = f"; jax[{others[0]}] has code for it" if others else ""
        return [
            Problem(
                "jax_gpu_unsupported",
                "error",
                f"JAX {given} {names} has no kernels for CC {ft.cc_text(cc)}{hint}",
            )
        ]
    out: list[Problem] = []
    if all(b.code_for(cc) == "ptx" and max(b.ptx) < cc for b in with_code):
        out.append(
            Problem(
                "jax_ptx_jit",
                "warning",
                f"JAX {given} has only PTX for an older GPU than CC {ft.cc_text(cc)}: the driver "
                "JIT-compiles it at the first run (unconfirmed on this card: no report found); "
                "JAX 0.6.0 and later carry PTX for 12.0",
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
                    f"JAX {given} "
                    + " / ".join(f"jax[{b.variant}]" for b in with_code)
                    + f" needs an NVIDIA driver >= {need} (Linux); this "
                    "driver is older",
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
            note = f"needs an NVIDIA driver >= {need} (Linux); wheels only for Linux"
            if ctx.os == "windows":
                note = (
                    "no NVIDIA GPU wheels for native Windows; run this in WSL2 "
                    "(experimental, JAX says); " + note
                )
            return ft.FrameworkInstall(
                f'pip install -U "jax[{b.variant}]=={version}"', version, b.variant, str(need), note
            )
    if not any(_works(b, cc) for r in fw.jax_releases for b in r.builds):
        return ft.no_build(f"no JAX CUDA build in gpuwise's table has code for CC {ft.cc_text(cc)}")
    if ctx.python is not None and all(ctx.python < r.python_min for r in fw.jax_releases):
        return ft.no_build(
            f"no JAX release in gpuwise's table takes Python {ft.py_text(ctx.python)}"
        )
    low = min(fw.jax_min_driver.values())
    return ft.no_build(f"JAX's CUDA wheels need an NVIDIA driver >= {low} (Linux); update it")
