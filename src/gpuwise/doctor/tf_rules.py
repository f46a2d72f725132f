"""TensorFlow on one card: what a given release does there (quoting what TensorFlow prints), and
the ``pip`` command for the newest release that works for the card, driver, OS and Python.

Rules (each with its source in data/frameworks.json): a release's wheels have code for a card
when a cubin of the same major and no higher minor exists, or PTX the driver JIT-compiles
(slowly: "could take 30 minutes or longer"); from 2.17 the oldest card is Pascal (6.0); RTX 50
cards (12.0) fail with the pip wheels; native Windows has no GPU build after 2.10 (WSL2
instead); ``tensorflow[and-cuda]`` (from 2.14) brings CUDA and cuDNN on Linux and in WSL2.
"""

from __future__ import annotations

from gpuwise.doctor.frameworks import Frameworks, TfRelease
from gpuwise.doctor.fw_types import (
    Context,
    FrameworkInstall,
    FrameworkVerdict,
    cc_text,
    no_build,
    py_text,
)
from gpuwise.doctor.knowledge import CC, driver_at_least
from gpuwise.doctor.machine import Problem


def tf_verdict(
    fw: Frameworks,
    cc: CC,
    ctx: Context,
    version: tuple[int, int] | None,
    given: str | None,
    how: str | None,
) -> FrameworkVerdict:
    """TensorFlow on a card of compute capability ``cc``; problems only for a known version."""
    works = [r for r in fw.tf_releases if _runs(fw, r, cc)]
    v = FrameworkVerdict(
        "tensorflow",
        given,
        how,
        tf_install(fw, cc, ctx),
        works[-1].text if works else None,
        works[0].text if works else None,
    )
    if version is not None:
        v.problems = tf_problems(fw, cc, ctx, version, given or "")
    return v


def _runs(fw: Frameworks, r: TfRelease, cc: CC) -> bool:
    return r.code_for(cc) is not None and not fw.tf_fails(r, cc)


def tf_problems(
    fw: Frameworks, cc: CC, ctx: Context, version: tuple[int, int], given: str
) -> list[Problem]:
    r = fw.tf_release(version)
    if r is None:
        return [
            Problem(
                "tensorflow_not_in_table",
                "info",
                f"TensorFlow {given} is not in gpuwise's table ({fw.tf_range()}); its GPU "
                "checks are skipped",
            )
        ]
    out: list[Problem] = []
    if ctx.os == "windows" and r.version > fw.tf_windows_last:
        out.append(
            Problem(
                "tensorflow_windows_no_gpu",
                "error",
                f"TensorFlow {given} has no GPU build for native Windows: "
                f"{py_text(fw.tf_windows_last)} was the last release with one. Run it in WSL2 "
                '(pip install "tensorflow[and-cuda]" there), or natively: '
                f"{fw.tf_windows_command}",
            )
        )
    if ctx.python is not None and not r.python[0] <= ctx.python <= r.python[1]:
        out.append(
            Problem(
                "tensorflow_python_unsupported",
                "error",
                f"TensorFlow {r.text} has wheels for Python {py_text(r.python[0])}-"
                f'{py_text(r.python[1])}, not {py_text(ctx.python)}: pip says "No matching '
                f'distribution found for tensorflow=={given}"',
            )
        )
    card = _card_problem(fw, r, cc, given)
    if card is not None:
        out.append(card)
    if ctx.driver is not None:
        need = fw.tf_driver_need(r, ctx.os)
        if not driver_at_least(ctx.driver, need):
            where = "WSL on Windows" if ctx.os == "windows" else "Linux"
            out.append(
                Problem(
                    "tensorflow_driver_too_old",
                    "error",
                    f"TensorFlow {r.text} is built with CUDA {cc_text(r.cuda)}, which needs an "
                    f"NVIDIA driver >= {fw.tf_driver_text(r, ctx.os)} on {where}; this driver is "
                    "older, so TensorFlow finds no GPU",
                )
            )
    return out


def _card_problem(fw: Frameworks, r: TfRelease, cc: CC, given: str) -> Problem | None:
    unconfirmed = (
        ""
        if r.verified
        else f" (gpuwise's arch list for {r.text} is not confirmed: {fw.tf_group_note(r.group)})"
    )
    jit = fw.tf_messages["jit"].format(cc=cc_text(cc))
    if fw.tf_fails(r, cc):
        inferred = (
            " (inferred for this release: built with the same CUDA and arch list as the "
            "releases reported failing)"
            if r.version in fw.tf_fails_inferred
            else ""
        )
        return Problem(
            "tensorflow_gpu_fails",
            "error",
            f"TensorFlow {given}'s pip wheels do not run on CC {cc_text(cc)} (RTX 50): it warns "
            f'"{jit}" and the first kernel fails with "{fw.tf_messages["invalid_ptx"]}"'
            f"{inferred}. Use PyTorch or JAX on this card, or TensorFlow built from source "
            "for sm_120",
        )
    code = r.code_for(cc)
    if code is None:
        older = cc < r.min_cc
        return Problem(
            "tensorflow_gpu_too_old" if older else "tensorflow_gpu_unsupported",
            "error",
            f"TensorFlow {given}'s wheels have no kernels for CC {cc_text(cc)}"
            + (
                f" (they start at CC {cc_text(r.min_cc)}); TensorFlow 2.16 is the last with "
                "Maxwell (5.x) kernels"
                if older
                else ""
            )
            + unconfirmed,
        )
    if code == "ptx":
        tested = "" if cc < (10, 0) else " (unconfirmed on this architecture: no report found)"
        return Problem(
            "tensorflow_ptx_jit",
            "warning",
            f"TensorFlow {given} has only PTX for CC {cc_text(cc)}: at start it warns "
            f'"{jit}"{tested}{unconfirmed}',
        )
    return None


def tf_install(fw: Frameworks, cc: CC, ctx: Context) -> FrameworkInstall:
    """The newest release that runs on the card, for this Python and driver (verified arch
    lists first). On Windows: the command for WSL2, and the native 2.10 route in the note."""
    for verified_only in (True, False):
        for r in fw.tf_releases:
            if verified_only and not r.verified:
                continue
            if ctx.python is not None and not r.python[0] <= ctx.python <= r.python[1]:
                continue
            if not _runs(fw, r, cc):
                continue
            need = fw.tf_driver_need(r, ctx.os)
            if ctx.driver is not None and not driver_at_least(ctx.driver, need):
                continue
            return _command(fw, r, cc, ctx)
    return no_build(_why_none(fw, cc, ctx))


def _command(fw: Frameworks, r: TfRelease, cc: CC, ctx: Context) -> FrameworkInstall:
    driver = fw.tf_driver_text(r, ctx.os)
    if r.version >= fw.tf_and_cuda_from:
        command = f'pip install "tensorflow[and-cuda]=={r.text}.*"'
        note = f"brings CUDA {cc_text(r.cuda)} and cuDNN {r.cudnn} as pip packages"
    else:
        command = f'pip install "tensorflow=={r.text}.*"'
        note = f"install CUDA {cc_text(r.cuda)} and cuDNN {r.cudnn} yourself (the tested build)"
    note += f"; needs an NVIDIA driver >= {driver}"
    if r.code_for(cc) == "ptx":
        note += (
            f"; only PTX for CC {cc_text(cc)}: the first start JIT-compiles its kernels "
            "(TensorFlow says it could take 30 minutes or longer)"
        )
    if not r.verified:
        note += f"; gpuwise's arch list for {r.text} is not confirmed"
    if ctx.os == "windows":
        note = (
            "run this inside WSL2 (Windows 10 19044 or later): native Windows has no GPU "
            f"build after {py_text(fw.tf_windows_last)} (there: {fw.tf_windows_command}); " + note
        )
    return FrameworkInstall(command, r.text, "and-cuda", driver, note)


def _why_none(fw: Frameworks, cc: CC, ctx: Context) -> str:
    if not any(_runs(fw, r, cc) for r in fw.tf_releases):
        if cc >= fw.tf_fails_cc:
            return (
                f"no TensorFlow pip wheel runs on CC {cc_text(cc)} (RTX 50 cards fail with "
                "CUDA_ERROR_INVALID_PTX); use PyTorch or JAX, or build TensorFlow from source "
                "for sm_120"
            )
        return f"no TensorFlow release in gpuwise's table has kernels for CC {cc_text(cc)}"
    if ctx.python is not None and not any(
        r.python[0] <= ctx.python <= r.python[1] for r in fw.tf_releases
    ):
        low, high = fw.tf_releases[0].python
        return (
            f"no TensorFlow release in gpuwise's table ({fw.tf_range()}) has wheels for "
            f"Python {py_text(ctx.python)}; TensorFlow {fw.tf_releases[0].text} takes "
            f"{py_text(low)}-{py_text(high)}"
        )
    need = fw.tf_driver_text(fw.tf_releases[0], ctx.os)
    return (
        "no TensorFlow release in gpuwise's table runs on this card with this driver and "
        f"Python; update the NVIDIA driver (>= {need} for TensorFlow {fw.tf_releases[0].text})"
    )
