"""Per-card verdicts: what fails and why (quoting what the user will see), what to use or avoid,
and the install command that works for this card, driver and OS."""

from __future__ import annotations

from dataclasses import dataclass, field

from gpuwise.catalog import Card
from gpuwise.catalog.features import features_of
from gpuwise.doctor.builds import TorchBuild, parse_torch
from gpuwise.doctor.install import Install, recommend
from gpuwise.doctor.knowledge import CC, Knowledge, Wheel, cuda_text, parse_cc, parse_driver
from gpuwise.doctor.machine import Gpu, Machine, Problem


@dataclass
class Advice:
    code: str
    message: str


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


def _fmt(cc: CC) -> str:
    return f"{cc[0]}.{cc[1]}"


def _sm(cc: CC) -> str:
    return f"{cc[0]}{cc[1]}"


def torch_wheel(
    kb: Knowledge, machine: Machine
) -> tuple[TorchBuild | None, Wheel | None, list[str] | None, str | None]:
    """The torch build, its wheel row, its arch list (detected beats the table) and a note."""
    if machine.torch is None:
        return None, None, None, None
    build = parse_torch(machine.torch.version)
    variant = build.variant
    note: str | None = None
    if variant is None:
        if machine.torch.cuda:
            variant = "cu" + machine.torch.cuda.replace(".", "")
        else:
            variant = kb.default_variant(build.release, machine.os)
            note = f"no +cuXXX tag: assumed the PyPI default build ({variant or 'unknown'})"
    if variant is None or not variant.startswith("cu"):
        return build, None, None, note
    wheel, wnote = kb.wheel(build.release, variant)
    arches = machine.torch.arch_list
    if arches is None and wheel is not None:
        arches = wheel.arch_list(machine.os)
    return build, wheel, arches, "; ".join(n for n in (note, wnote) if n) or None


def _variant_of(kb: Knowledge, machine: Machine) -> str | None:
    build, wheel, _, _ = torch_wheel(kb, machine)
    if wheel is not None:
        return wheel.variant
    if machine.torch is not None and machine.torch.cuda:
        return "cu" + machine.torch.cuda.replace(".", "")
    if build is not None and build.variant:
        return build.variant
    if build is not None:
        return kb.default_variant(build.release, machine.os)
    return None


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
                f"gpuwise could not tell the compute capability of '{gpu.name}'; "
                "run `nvidia-smi --query-gpu=name,compute_cap --format=csv`",
            )
        )
        return v
    driver = parse_driver(machine.driver) if machine.driver else None
    _driver_checks(kb, machine, v, cc, driver)
    _torch_checks(kb, machine, v, gpu, cc, driver)
    _library_checks(kb, machine, v, cc)
    v.advice = advice(kb, cc)
    gpu_driver_ok = not any(p.code == "driver_predates_gpu" for p in v.problems)
    v.install = recommend(kb, [cc], driver if gpu_driver_ok else None, machine.os)
    if v.install is None:
        v.problems.append(
            Problem(
                "no_wheel",
                "error",
                f"no PyTorch wheel gpuwise knows has code for CC {_fmt(cc)} "
                + ("and runs on this driver" if driver else ""),
            )
        )
    v.problems.sort(key=lambda p: {"error": 0, "warning": 1, "info": 2}.get(p.severity, 3))
    return v


def _driver_checks(
    kb: Knowledge, m: Machine, v: CardVerdict, cc: CC, driver: tuple[int, ...] | None
) -> None:
    arch = kb.architecture(cc)
    if driver is None:
        if m.mode == "described":
            v.problems.append(
                Problem(
                    "driver_unknown",
                    "info",
                    "driver version not given (--driver); the install command assumes you can "
                    "install the driver it names",
                )
            )
        return
    if arch is not None and arch.first_cuda is not None:
        need = kb.toolkit_min_driver(arch.first_cuda, m.os)
        if need is not None and driver[0] < need[0]:
            v.problems.append(
                Problem(
                    "driver_predates_gpu",
                    "error",
                    f"driver {m.driver} is older than {arch.name} (CC {_fmt(cc)}), which needs "
                    f"CUDA {cuda_text(arch.first_cuda)} and a driver >= "
                    f"{kb.min_driver_text(arch.first_cuda, m.os)}; update the driver first",
                )
            )


def _torch_checks(
    kb: Knowledge, m: Machine, v: CardVerdict, gpu: Gpu, cc: CC, driver: tuple[int, ...] | None
) -> None:
    if m.torch is None:
        if m.torch_checked:
            v.problems.append(Problem("torch_not_installed", "info", "PyTorch is not installed"))
        return
    build, _, arches, note = torch_wheel(kb, m)
    assert build is not None
    variant = _variant_of(kb, m)
    if variant is None or not variant.startswith("cu"):
        v.problems.append(
            Problem(
                "torch_not_cuda",
                "error",
                f"torch {build.version} is a {variant or 'non-CUDA'} build: "
                "torch.cuda.is_available() is False and everything runs on the CPU",
            )
        )
        return
    if note:
        v.problems.append(Problem("torch_build_assumed", "info", note))
    name = gpu.name if gpu.name.startswith("NVIDIA") else f"NVIDIA {v.name}"
    if arches is None:
        v.problems.append(
            Problem(
                "torch_build_unknown",
                "info",
                f"gpuwise does not know which GPUs torch {build.version} was built for; "
                'check with python -c "import torch; print(torch.cuda.get_arch_list())"',
            )
        )
    elif not _runs(arches, cc, m.os):
        msg = kb.messages["arch_not_compiled"]["text"].format(name=name, sm=_sm(cc))
        compiled = [a for a in arches if a.startswith(("sm_", "compute_"))]
        newest = max((_arch_cc(a) for a in compiled), default=(0, 0))
        too_new = cc > newest
        code = "gpu_too_new_for_torch" if too_new else "gpu_too_old_for_torch"
        why = (
            f"this build stops at {_fmt(newest)}"
            if too_new
            else "this build dropped your architecture"
        )
        v.problems.append(
            Problem(
                code,
                "error",
                f"torch {build.version} has no kernels for sm_{_sm(cc)} ({why}; it has "
                f'{" ".join(compiled)}). PyTorch warns "{msg}" and the first CUDA operation '
                f'fails with "RuntimeError: {kb.messages["no_kernel_image"]["text"]}"',
            )
        )
    if driver is not None:
        cuda = _torch_cuda(m, variant)
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
                    f"torch {build.version} is built with CUDA {cuda_text(cuda)}, which needs a "
                    f"driver >= {need} (at least the {kb.family_branch.get(cuda[0], '?')} "
                    f"branch); driver {m.driver} is older. torch.cuda.is_available() is False "
                    f'and PyTorch says "{text}"',
                )
            )
        elif state == "minor":
            v.problems.append(
                Problem(
                    "driver_minor_compat",
                    "warning",
                    f"torch {build.version} is built with CUDA {cuda_text(cuda)} (full support "
                    f"from driver {need}); driver {m.driver} runs it through CUDA minor-version "
                    "compatibility, with a limited feature set (PTX JIT may fail)",
                )
            )
    if m.torch.cuda_warnings:
        v.problems.append(
            Problem(
                "torch_cuda_warning",
                "warning",
                "torch said at CUDA init: " + " | ".join(m.torch.cuda_warnings)[:600],
            )
        )
    if cc < (7, 0):
        v.problems.append(
            Problem(
                "torch_compile_unsupported",
                "warning",
                'torch.compile (Inductor, Triton) refuses this card: "'
                + kb.messages["triton_too_old"]["text"].format(cc=_fmt(cc))
                + '"; leave torch.compile off',
            )
        )


def _torch_cuda(m: Machine, variant: str) -> tuple[int, int]:
    if m.torch is not None and m.torch.cuda:
        major, minor = m.torch.cuda.split(".")[:2]
        return int(major), int(minor)
    return int(variant[2:4]), int(variant[4:])


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
                f"flash-attn {libs['flash_attn']} is installed but needs CC 8.0+ (Ampere): it "
                f'raises "RuntimeError: {fa}"; use attn_implementation="sdpa"',
            )
        )
    bnb = kb.libraries["bitsandbytes"]
    if libs.get("bitsandbytes"):
        if cc < parse_cc(bnb["min_cc"]):
            v.problems.append(
                Problem(
                    "bnb_unsupported",
                    "warning",
                    f"bitsandbytes {libs['bitsandbytes']} is installed but needs CC 6.0+",
                )
            )
        elif cc < parse_cc(bnb["int8_min_cc"]):
            v.problems.append(
                Problem(
                    "bnb_int8_unsupported",
                    "info",
                    "bitsandbytes: LLM.int8() (load_in_8bit) needs CC 7.5+ (Turing); 4-bit "
                    "(QLoRA, NF4) and 8-bit optimizers work on this card",
                )
            )


def advice(kb: Knowledge, cc: CC) -> list[Advice]:
    """What to use and what to avoid on a card of this compute capability."""
    lib = kb.libraries
    out: list[Advice] = []
    if cc >= parse_cc(lib["bf16"]["min_cc"]):
        out.append(Advice("use_bf16", "use bf16 (native on CC 8.0+): --precision bf16 or amp-bf16"))
    elif cc in [parse_cc(c) for c in lib["slow_fp16"]["cc_in"]]:
        out.append(
            Advice(
                "use_fp32",
                "train in fp32: FP16 math runs at 1/64 of the FP32 rate on CC 6.1 and there is "
                "no bf16; fp16 only saves memory (storage), not time",
            )
        )
    else:
        out.append(
            Advice(
                "use_fp16",
                "no native bf16 below CC 8.0: use fp16 mixed precision with loss scaling "
                "(--precision amp-fp16)",
            )
        )
    if cc >= parse_cc(lib["fp8"]["min_cc"]):
        out.append(
            Advice("fp8_available", "FP8 tensor cores (CC 8.9+): Transformer Engine, torchao")
        )
    if cc in [parse_cc(c) for c in lib["flash_attn_3"]["cc_in"]]:
        out.append(Advice("flash_attention_3", "FlashAttention 3 (hopper/) targets this card"))
    if cc >= parse_cc(lib["flash_attn"]["min_cc"]):
        out.append(
            Advice(
                "flash_attention_2",
                "FlashAttention 2 works (pip install flash-attn; "
                'attn_implementation="flash_attention_2")',
            )
        )
    else:
        out.append(
            Advice(
                "avoid_flash_attention",
                'avoid flash-attn (Ampere+ only); use PyTorch SDPA (attn_implementation="sdpa")',
            )
        )
    if cc >= parse_cc(lib["triton"]["min_cc"]):
        out.append(Advice("torch_compile", "torch.compile works (Triton, CC 7.0+)"))
    else:
        out.append(Advice("avoid_torch_compile", "avoid torch.compile: Triton needs CC 7.0+"))
    bnb = lib["bitsandbytes"]
    if cc >= parse_cc(bnb["int8_min_cc"]):
        out.append(
            Advice("bitsandbytes", "bitsandbytes: 8-bit optimizers, QLoRA (NF4) and LLM.int8()")
        )
    elif cc >= parse_cc(bnb["min_cc"]):
        out.append(
            Advice(
                "bitsandbytes_partial",
                "bitsandbytes: 8-bit optimizers and QLoRA (NF4) work; LLM.int8() "
                "(load_in_8bit) needs CC 7.5",
            )
        )
    else:
        out.append(Advice("avoid_bitsandbytes", "avoid bitsandbytes: it needs CC 6.0+"))
    return out
