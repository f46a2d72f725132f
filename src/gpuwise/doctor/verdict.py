"""Per-card verdicts: what fails and why (quoting what the user will see), what to use or avoid,
and the install command that works for this card, driver and OS."""

from __future__ import annotations

from dataclasses import dataclass, field

from gpuwise.catalog import Card
from gpuwise.catalog.features import features_of
from gpuwise.doctor.builds import TorchBuild, parse_torch
from gpuwise.doctor.fw_types import FrameworkVerdict
from gpuwise.doctor.install import Install, no_install, recommend
from gpuwise.doctor.knowledge import (
    CC,
    Knowledge,
    Wheel,
    cuda_text,
    parse_cc,
    parse_driver,
    variant_cuda,
)
from gpuwise.doctor.machine import Gpu, Machine, Problem
from gpuwise.doctor.said import joined
from gpuwise.doctor.support import Support
from gpuwise.errors import GpuwiseError
from gpuwise.i18n import Message, Text


@dataclass
class Advice:
    code: str
    message: Text


@dataclass
class CardVerdict:
    """One card: its problems (errors first), advice and install command."""

    name: str
    compute_capability: str | None
    architecture: str | None
    catalog_slug: str | None
    memory_total_bytes: int | None
    memory_used_bytes: int | None
    features: list[str]
    problems: list[Problem] = field(default_factory=list)
    advice: list[Advice] = field(default_factory=list)
    install: Install | None = None
    #: The oldest and newest PyTorch / CUDA / driver that work (None: CC unknown).
    support: Support | None = None
    #: TensorFlow and JAX on this card (empty: CC unknown).
    frameworks: list[FrameworkVerdict] = field(default_factory=list)

    @property
    def has_error(self) -> bool:
        return any(p.severity == "error" for p in self.problems)


def _fmt(cc: CC) -> str:
    return f"{cc[0]}.{cc[1]}"


def _sm(cc: CC) -> str:
    return f"{cc[0]}{cc[1]}"


@dataclass
class TorchView:
    """What doctor makes of the torch build: its variant and CUDA version, the wheel row and
    arch list (detected beats the table), notes (info) and problems (warnings) about it."""

    build: TorchBuild | None = None
    variant: str | None = None
    cuda: tuple[int, int] | None = None
    wheel: Wheel | None = None
    arches: list[str] | None = None
    notes: list[Text] = field(default_factory=list)
    problems: list[Problem] = field(default_factory=list)

    @property
    def note(self) -> Text | None:
        return joined(self.notes)


def _cuda_of(text: str | None) -> tuple[int, int] | None:
    """``"12.8"`` (torch.version.cuda) -> ``(12, 8)``; None when absent or unreadable."""
    parts = (text or "").split(".")
    if len(parts) < 2 or not all(p.isascii() and p.isdigit() for p in parts[:2]):
        return None
    return int(parts[0]), int(parts[1])


def torch_wheel(kb: Knowledge, machine: Machine) -> TorchView:
    """The torch build of ``machine``. A detected version gpuwise cannot read, or a detected
    cuXXX it does not know, is a warning problem, never an error (a --torch flag was checked
    when it was given)."""
    view = TorchView()
    info = machine.torch
    if info is None:
        return view
    given = info.how == "--torch"
    try:
        view.build = build = parse_torch(info.version)
    except GpuwiseError:
        if given:
            raise
        build = None
        view.problems.append(
            Problem(
                "torch_version_unrecognised",
                "warning",
                Message("doctor.problem.torch_version_unrecognised", version=repr(info.version)),
            )
        )
    torch_cuda = _cuda_of(info.cuda)
    variant = build.variant if build is not None else None
    if variant is None and torch_cuda is not None:
        variant = f"cu{torch_cuda[0]}{torch_cuda[1]}"
    elif variant is None and build is not None and build.custom:
        view.notes.append(
            Message("doctor.note.custom_build", version=build.version, local=build.local)
        )
    elif variant is None and build is not None:
        variant = kb.default_variant(build.release, machine.os)
        view.notes.append(
            Message(
                "doctor.note.default_build",
                variant=variant or Message("doctor.word.unknown"),
            )
        )
        rel = kb.release(build.release)
        if machine.os != "windows" and rel is not None and rel.get("default_verified") is False:
            view.notes.append(Message("doctor.note.default_unconfirmed", note=kb.release_note(rel)))
    view.variant = variant
    view.arches = info.arch_list
    if variant is None or not variant.startswith("cu"):
        return view
    cuda = torch_cuda or variant_cuda(variant)
    if cuda not in kb.known_cuda:
        view.problems.append(
            Problem(
                "torch_variant_unknown",
                "warning",
                Message(
                    "doctor.problem.torch_variant_unknown",
                    version=info.version,
                    cuda=cuda_text(cuda),
                    known=", ".join(kb.known_variants()),
                ),
            )
        )
        return view
    view.cuda = cuda
    if build is None:
        return view
    view.wheel, wnote = kb.wheel(build.release, variant)
    if view.wheel is None and kb.release(build.release) is not None and wnote:
        view.problems.append(Problem("torch_variant_not_published", "warning", wnote))
    elif wnote:
        view.notes.append(wnote)
    if view.arches is None and view.wheel is not None:
        view.arches = view.wheel.arch_list(machine.os)
    return view


def driver_of(m: Machine) -> tuple[tuple[int, ...] | None, Problem | None]:
    """The driver as a tuple; a detected value gpuwise cannot read (nvidia-smi's ``[N/A]``)
    is a warning problem and no driver, a --driver value was checked when it was given."""
    if not m.driver:
        return None, None
    try:
        return parse_driver(m.driver), None
    except GpuwiseError:
        if m.driver_given:
            raise
        return None, Problem(
            "driver_unrecognised",
            "warning",
            Message("doctor.problem.driver_unrecognised", driver=repr(m.driver)),
        )


def verdict(kb: Knowledge, machine: Machine, gpu: Gpu, card: Card | None) -> CardVerdict:
    cc_text = gpu.compute_capability or (card.compute_capability if card else None)
    cc = parse_cc(cc_text) if cc_text else None
    arch = kb.architecture(cc) if cc else None
    fields = {"series": card.series, "nvlink_gb_s": card.nvlink_gb_s} if card else {}
    v = CardVerdict(
        name=card.name if card else gpu.name,
        compute_capability=cc_text,
        architecture=(card.architecture if card else None) or (arch.name if arch else None),
        catalog_slug=card.slug if card else None,
        memory_total_bytes=gpu.memory_total_bytes,
        memory_used_bytes=gpu.memory_used_bytes,
        features=list(card.features) if card else (list(features_of(cc, fields)) if cc else []),
    )
    if cc is None:
        v.problems.append(
            Problem(
                "unknown_compute_capability",
                "warning",
                Message("doctor.problem.unknown_compute_capability", name=gpu.name),
            )
        )
        v.install = no_install(Message("doctor.install.cc_unknown"))
        return v
    driver, driver_problem = driver_of(machine)
    if driver_problem is not None:
        v.problems.append(driver_problem)
    _driver_checks(kb, machine, v, cc, driver)
    _torch_checks(kb, machine, v, gpu, cc, driver)
    _library_checks(kb, machine, v, cc)
    gpu_driver_ok = not any(p.code == "driver_predates_gpu" for p in v.problems)
    install = recommend(kb, [cc], driver if gpu_driver_ok else None, machine.os)
    if install is None:
        why = Message(
            "doctor.problem.no_wheel_driver" if driver else "doctor.problem.no_wheel", cc=_fmt(cc)
        )
        v.problems.append(Problem("no_wheel", "error", why))
        install = no_install(why)
    v.install = install
    minor = install.driver_compat == "minor" or any(
        p.code == "driver_minor_compat" for p in v.problems
    )
    v.advice = advice(kb, cc, v.features, minor_compat=minor)
    v.problems.sort(key=lambda p: {"error": 0, "warning": 1, "info": 2}.get(p.severity, 3))
    return v


def _driver_checks(
    kb: Knowledge, m: Machine, v: CardVerdict, cc: CC, driver: tuple[int, ...] | None
) -> None:
    arch = kb.architecture(cc)
    if driver is None:
        if m.mode == "described":
            v.problems.append(
                Problem("driver_unknown", "info", Message("doctor.problem.driver_unknown"))
            )
        return
    if arch is not None and arch.first_cuda is not None:
        need = kb.toolkit_min_driver(arch.first_cuda, m.os)
        if need is not None and driver[0] < need[0]:
            v.problems.append(
                Problem(
                    "driver_predates_gpu",
                    "error",
                    Message(
                        "doctor.problem.driver_predates_gpu",
                        driver=m.driver,
                        arch=arch.name,
                        cc=_fmt(cc),
                        cuda=cuda_text(arch.first_cuda),
                        need=kb.min_driver_text(arch.first_cuda, m.os),
                    ),
                )
            )


def _torch_checks(
    kb: Knowledge, m: Machine, v: CardVerdict, gpu: Gpu, cc: CC, driver: tuple[int, ...] | None
) -> None:
    if m.torch is None:
        if m.torch_checked:
            v.problems.append(
                Problem(
                    "torch_not_installed", "info", Message("doctor.problem.torch_not_installed")
                )
            )
        return
    view = torch_wheel(kb, m)
    v.problems.extend(view.problems)
    version = m.torch.version
    variant = view.variant
    if variant is None and (view.build is None or view.build.custom):
        # unreadable version (warned) or a source/vendor build without torch.version.cuda
        if view.note:
            v.problems.append(Problem("torch_build_unknown", "info", view.note))
        _torch_tail(kb, m, v, cc)
        return
    if variant is None or not variant.startswith("cu"):
        v.problems.append(
            Problem(
                "torch_not_cuda",
                "error",
                Message(
                    "doctor.problem.torch_not_cuda",
                    version=version,
                    variant=variant or Message("doctor.word.non_cuda"),
                ),
            )
        )
        return
    if view.note:
        v.problems.append(Problem("torch_build_assumed", "info", view.note))
    name = gpu.name if gpu.name.startswith("NVIDIA") else f"NVIDIA {v.name}"
    arches = view.arches
    if arches is None:
        v.problems.append(
            Problem(
                "torch_build_unknown",
                "info",
                Message("doctor.problem.torch_arch_unknown", version=version),
            )
        )
    elif not _runs(arches, cc, m.os):
        msg = kb.messages["arch_not_compiled"]["text"].format(name=name, sm=_sm(cc))
        compiled = [a for a in arches if a.startswith(("sm_", "compute_"))]
        newest = max((_arch_cc(a) for a in compiled), default=(0, 0))
        too_new = cc > newest
        code = "gpu_too_new_for_torch" if too_new else "gpu_too_old_for_torch"
        why = (
            Message("doctor.problem.build_stops_at", cc=_fmt(newest))
            if too_new
            else Message("doctor.problem.build_dropped")
        )
        v.problems.append(
            Problem(
                code,
                "error",
                Message(
                    "doctor.problem.no_kernels",
                    version=version,
                    sm=_sm(cc),
                    why=why,
                    compiled=" ".join(compiled),
                    warning=msg,
                    error=kb.messages["no_kernel_image"]["text"],
                ),
            )
        )
    cuda = view.cuda
    if driver is not None and cuda is not None:
        state = kb.driver_runs(driver, cuda, m.os)
        need = kb.min_driver_text(cuda, m.os)
        if state == "too_old":
            have = kb.driver_cuda(driver, m.os)
            found = f"{have[0] * 1000 + have[1] * 10}" if have else "?"
            text = kb.messages["driver_too_old"]["text"].format(found=found)
            v.problems.append(
                Problem(
                    "driver_too_old",
                    "error",
                    Message(
                        "doctor.problem.driver_too_old",
                        version=version,
                        cuda=cuda_text(cuda),
                        need=need,
                        branch=kb.family_branch.get(cuda[0], "?"),
                        driver=m.driver,
                        said=text,
                    ),
                )
            )
        elif state == "minor":
            v.problems.append(
                Problem(
                    "driver_minor_compat",
                    "warning",
                    Message(
                        "doctor.problem.driver_minor_compat",
                        version=version,
                        cuda=cuda_text(cuda),
                        need=need,
                        driver=m.driver,
                    ),
                )
            )
    _torch_tail(kb, m, v, cc)


def _torch_tail(kb: Knowledge, m: Machine, v: CardVerdict, cc: CC) -> None:
    """What torch warned at CUDA init, and torch.compile on a card older than Triton's."""
    assert m.torch is not None
    if m.torch.cuda_warnings:
        v.problems.append(
            Problem(
                "torch_cuda_warning",
                "warning",
                Message(
                    "doctor.problem.torch_cuda_warning",
                    said=" | ".join(m.torch.cuda_warnings)[:600],
                ),
            )
        )
    if cc < (7, 0):
        v.problems.append(
            Problem(
                "torch_compile_unsupported",
                "warning",
                Message(
                    "doctor.problem.torch_compile_unsupported",
                    said=kb.messages["triton_too_old"]["text"].format(cc=_fmt(cc)),
                ),
            )
        )


def _arch_cc(arch: str) -> CC:
    digits = arch.split("_")[1].rstrip("af")
    return int(digits[:-1]), int(digits[-1])


def _runs(arches: list[str], cc: CC, os_name: str) -> bool:
    """sm_XY cubins run on the same major with minor >= Y; compute_XY (PTX) on any later CC."""
    for a in arches:
        try:
            code = _arch_cc(a)
        except (IndexError, ValueError):
            continue
        if a.startswith("sm_") and code[0] == cc[0] and code[1] <= cc[1]:
            return True
        if a.startswith("compute_") and code <= cc:
            return True
    return False


def _library_checks(kb: Knowledge, m: Machine, v: CardVerdict, cc: CC) -> None:
    libs = m.libraries
    fa = kb.messages["flash_attn_too_old"]["text"]
    if libs.get("flash_attn") and cc < parse_cc(kb.libraries["flash_attn"]["min_cc"]):
        v.problems.append(
            Problem(
                "flash_attn_unsupported",
                "warning",
                Message(
                    "doctor.problem.flash_attn_unsupported", version=libs["flash_attn"], said=fa
                ),
            )
        )
    bnb = kb.libraries["bitsandbytes"]
    if libs.get("bitsandbytes"):
        if cc < parse_cc(bnb["min_cc"]):
            v.problems.append(
                Problem(
                    "bnb_unsupported",
                    "warning",
                    Message("doctor.problem.bnb_unsupported", version=libs["bitsandbytes"]),
                )
            )
        elif cc < parse_cc(bnb["int8_min_cc"]):
            v.problems.append(
                Problem(
                    "bnb_int8_unsupported",
                    "info",
                    Message("doctor.problem.bnb_int8_needs_turing"),
                )
            )
        elif "tensor_cores" not in v.features:
            v.problems.append(Problem("bnb_int8_unsupported", "info", _NO_TENSOR_CORES_INT8))


_NO_TENSOR_CORES_INT8 = Message("doctor.advice.no_tensor_cores_int8")


def advice(
    kb: Knowledge, cc: CC, features: list[str] | None = None, minor_compat: bool = False
) -> list[Advice]:
    """What to use and what to avoid on a card of this compute capability. ``features``: the
    card's catalogue features (None: assume what its CC gives); ``minor_compat``: the driver
    runs torch's CUDA only through minor-version compatibility."""
    tensor_cores = features is None or "tensor_cores" in features
    lib = kb.libraries
    out: list[Advice] = []
    if cc >= parse_cc(lib["bf16"]["min_cc"]):
        out.append(Advice("use_bf16", Message("doctor.advice.use_bf16")))
    elif cc in [parse_cc(c) for c in lib["slow_fp16"]["cc_in"]]:
        out.append(Advice("use_fp32", Message("doctor.advice.use_fp32")))
    else:
        out.append(Advice("use_fp16", Message("doctor.advice.use_fp16")))
    if cc >= parse_cc(lib["fp8"]["min_cc"]):
        out.append(Advice("fp8_available", Message("doctor.advice.fp8_available")))
    if cc in [parse_cc(c) for c in lib["flash_attn_3"]["cc_in"]]:
        out.append(Advice("flash_attention_3", Message("doctor.advice.flash_attention_3")))
    if cc >= parse_cc(lib["flash_attn"]["min_cc"]):
        out.append(Advice("flash_attention_2", Message("doctor.advice.flash_attention_2")))
    else:
        out.append(Advice("avoid_flash_attention", Message("doctor.advice.avoid_flash_attention")))
    if cc >= parse_cc(lib["triton"]["min_cc"]):
        if minor_compat:
            out.append(Advice("torch_compile", Message("doctor.advice.torch_compile_minor")))
        else:
            out.append(Advice("torch_compile", Message("doctor.advice.torch_compile")))
    else:
        out.append(Advice("avoid_torch_compile", Message("doctor.advice.avoid_torch_compile")))
    bnb = lib["bitsandbytes"]
    if cc >= parse_cc(bnb["int8_min_cc"]) and not tensor_cores:
        out.append(Advice("bitsandbytes_partial", _NO_TENSOR_CORES_INT8))
    elif cc >= parse_cc(bnb["int8_min_cc"]):
        out.append(Advice("bitsandbytes", Message("doctor.advice.bitsandbytes")))
    elif cc >= parse_cc(bnb["min_cc"]):
        out.append(Advice("bitsandbytes_partial", Message("doctor.advice.bitsandbytes_partial")))
    else:
        out.append(Advice("avoid_bitsandbytes", Message("doctor.advice.avoid_bitsandbytes")))
    return out
