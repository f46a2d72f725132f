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
from gpuwise.doctor.said import joined
from gpuwise.i18n import Message, Text


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
                Message("doctor.tf.not_in_table", version=given, range=fw.tf_range()),
            )
        ]
    out: list[Problem] = []
    if ctx.os == "windows" and r.version > fw.tf_windows_last:
        out.append(
            Problem(
                "tensorflow_windows_no_gpu",
                "error",
                Message(
                    "doctor.tf.windows_no_gpu",
                    version=given,
                    last=py_text(fw.tf_windows_last),
                    command=fw.tf_windows_command,
                ),
            )
        )
    if ctx.python is not None and not r.python[0] <= ctx.python <= r.python[1]:
        out.append(
            Problem(
                "tensorflow_python_unsupported",
                "error",
                Message(
                    "doctor.tf.python_unsupported",
                    release=r.text,
                    low=py_text(r.python[0]),
                    high=py_text(r.python[1]),
                    python=py_text(ctx.python),
                    version=given,
                ),
            )
        )
    card = _card_problem(fw, r, cc, given)
    if card is not None:
        out.append(card)
    if ctx.driver is not None:
        need = fw.tf_driver_need(r, ctx.os)
        if not driver_at_least(ctx.driver, need):
            where = Message("doctor.tf.wsl" if ctx.os == "windows" else "doctor.tf.linux")
            out.append(
                Problem(
                    "tensorflow_driver_too_old",
                    "error",
                    Message(
                        "doctor.tf.driver_too_old",
                        release=r.text,
                        cuda=cc_text(r.cuda),
                        need=fw.tf_driver_text(r, ctx.os),
                        where=where,
                    ),
                )
            )
    return out


def _card_problem(fw: Frameworks, r: TfRelease, cc: CC, given: str) -> Problem | None:
    unconfirmed: Text = (
        ""
        if r.verified
        else Message(
            "doctor.tf.unconfirmed_group",
            release=r.text,
            note=fw.tf_group_note(r.group) or "",
        )
    )
    jit = fw.tf_messages["jit"].format(cc=cc_text(cc))
    if fw.tf_fails(r, cc):
        inferred: Text = Message("doctor.tf.inferred") if r.version in fw.tf_fails_inferred else ""
        return Problem(
            "tensorflow_gpu_fails",
            "error",
            Message(
                "doctor.tf.gpu_fails",
                version=given,
                cc=cc_text(cc),
                warning=jit,
                error=fw.tf_messages["invalid_ptx"],
                inferred=inferred,
            ),
        )
    code = r.code_for(cc)
    if code is None:
        older = cc < r.min_cc
        return Problem(
            "tensorflow_gpu_too_old" if older else "tensorflow_gpu_unsupported",
            "error",
            Message(
                "doctor.tf.no_kernels_older" if older else "doctor.tf.no_kernels",
                version=given,
                cc=cc_text(cc),
                start=cc_text(r.min_cc),
                unconfirmed=unconfirmed,
            ),
        )
    if code == "ptx":
        tested: Text = "" if cc < (10, 0) else Message("doctor.tf.untested_arch")
        return Problem(
            "tensorflow_ptx_jit",
            "warning",
            Message(
                "doctor.tf.ptx_jit",
                version=given,
                cc=cc_text(cc),
                warning=jit,
                tested=tested,
                unconfirmed=unconfirmed,
            ),
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
    cuda, cudnn = cc_text(r.cuda), r.cudnn
    if r.version >= fw.tf_and_cuda_from:
        command = f'pip install "tensorflow[and-cuda]=={r.text}.*"'
        note: Text = Message("doctor.tf.brings_cuda", cuda=cuda, cudnn=cudnn)
    else:
        command = f'pip install "tensorflow=={r.text}.*"'
        note = Message("doctor.tf.install_cuda", cuda=cuda, cudnn=cudnn)
    notes = [note, Message("doctor.tf.needs_driver", need=driver)]
    if r.code_for(cc) == "ptx":
        notes.append(Message("doctor.tf.ptx_first_start", cc=cc_text(cc)))
    if not r.verified:
        notes.append(Message("doctor.tf.unconfirmed", release=r.text))
    if ctx.os == "windows":
        notes.insert(
            0,
            Message(
                "doctor.tf.in_wsl",
                last=py_text(fw.tf_windows_last),
                command=fw.tf_windows_command,
            ),
        )
    return FrameworkInstall(command, r.text, "and-cuda", driver, joined(notes) or "")


def _why_none(fw: Frameworks, cc: CC, ctx: Context) -> Text:
    if not any(_runs(fw, r, cc) for r in fw.tf_releases):
        if cc >= fw.tf_fails_cc:
            return Message("doctor.tf.none_rtx50", cc=cc_text(cc))
        return Message("doctor.tf.none_for_cc", cc=cc_text(cc))
    if ctx.python is not None and not any(
        r.python[0] <= ctx.python <= r.python[1] for r in fw.tf_releases
    ):
        low, high = fw.tf_releases[0].python
        return Message(
            "doctor.tf.none_for_python",
            range=fw.tf_range(),
            python=py_text(ctx.python),
            newest=fw.tf_releases[0].text,
            low=py_text(low),
            high=py_text(high),
        )
    need = fw.tf_driver_text(fw.tf_releases[0], ctx.os)
    return Message("doctor.tf.none_for_driver", need=need, newest=fw.tf_releases[0].text)
