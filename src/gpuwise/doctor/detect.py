"""Look at this machine: GPUs and driver (NVML, else nvidia-smi, else torch.cuda), CUDA toolkit
(nvcc), PyTorch and the libraries that care about the GPU.

Every step is optional and says what it saw. Nothing here imports torch unless a GPU was found
and the installed torch is a CUDA build (its compiled arch list needs the import); library
versions come from package metadata, without importing them. ``Probes`` holds every contact with
the outside world so tests can replay recorded outputs.
"""

from __future__ import annotations

import contextlib
import importlib
import importlib.metadata
import platform
import re
import subprocess
import warnings
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from gpuwise.doctor.detect_frameworks import detect_frameworks
from gpuwise.doctor.frameworks import load_frameworks
from gpuwise.doctor.machine import Check, Gpu, Machine, Problem, TorchInfo
from gpuwise.doctor.said import joined, listed
from gpuwise.i18n import Message
from gpuwise.units import MIB

#: The nvidia-smi query doctor runs (also shown to users as what it would check).
SMI_QUERY = [
    "nvidia-smi",
    "--query-gpu=name,driver_version,memory.total,memory.used,compute_cap",
    "--format=csv,noheader",
]

#: Distributions whose versions doctor reports (name shown -> distribution names to try).
LIBRARIES = {
    "bitsandbytes": ("bitsandbytes",),
    "flash_attn": ("flash_attn", "flash-attn"),
    "triton": ("triton", "triton-windows"),
    "xformers": ("xformers",),
}


def _run(cmd: list[str]) -> tuple[int, str, str]:
    """Run a command; FileNotFoundError when it is not installed."""
    r = subprocess.run(cmd, capture_output=True, text=True, timeout=20, check=False)
    return r.returncode, r.stdout, r.stderr


def _nvml() -> Any | None:
    try:
        return importlib.import_module("pynvml")
    except Exception:
        return None


def _version(dist: str) -> str | None:
    try:
        return importlib.metadata.version(dist)
    except importlib.metadata.PackageNotFoundError:
        return None


def _torch_version_file() -> str | None:
    """Text of the installed torch/version.py, read without importing torch."""
    try:
        path = importlib.metadata.distribution("torch").locate_file("torch/version.py")
        return path.read_text()
    except Exception:
        return None


def _import_torch() -> Any | None:
    return _import_framework("torch")


def _import_framework(name: str) -> Any | None:
    """``import tensorflow`` / ``import jax``, None when that fails (doctor only, with a GPU)."""
    try:
        return importlib.import_module(name)
    except Exception:
        return None


def _os_name() -> str:
    return {"linux": "linux", "windows": "windows", "darwin": "macos"}.get(
        platform.system().lower(), platform.system().lower() or "unknown"
    )


@dataclass
class Probes:
    """The outside world, replaceable in tests."""

    run: Callable[[list[str]], tuple[int, str, str]] = _run
    nvml: Callable[[], Any | None] = _nvml
    version: Callable[[str], str | None] = _version
    torch_version_file: Callable[[], str | None] = _torch_version_file
    import_torch: Callable[[], Any | None] = _import_torch
    import_framework: Callable[[str], Any | None] = _import_framework
    os_name: Callable[[], str] = _os_name
    os_detail: Callable[[], str] = platform.platform
    python: Callable[[], str] = platform.python_version


def detect(probes: Probes | None = None) -> Machine:
    """Everything doctor can see on this machine."""
    p = probes or Probes()
    m = Machine(mode="detected", os=p.os_name(), os_detail=p.os_detail(), python=p.python())
    if not _from_nvml(p, m):
        _from_smi(p, m)
    m.torch = _torch(p, m)
    m.torch_checked = True
    if not m.gpus and m.torch is not None and m.torch.cuda and not _driver_missing(m):
        _from_torch_cuda(p, m)
    m.nvcc = _nvcc(p, m)
    for name, dists in LIBRARIES.items():
        m.libraries[name] = next((v for d in dists if (v := p.version(d))), None)
    m.checks.append(
        Check(
            "libraries",
            "package metadata (not imported)",
            listed(
                [
                    f"{k} {v}" if v else Message("doctor.check.lib_missing", name=k)
                    for k, v in m.libraries.items()
                ]
            ),
        )
    )
    detect_frameworks(p, m, load_frameworks())
    if not m.gpus:
        m.problems.append(Problem("no_nvidia_gpu", "info", _no_gpu_message(m)))
    return m


def _driver_missing(m: Machine) -> bool:
    return any(pr.code == "driver_not_loaded" for pr in m.problems)


def _no_gpu_message(m: Machine) -> Message:
    how = [
        Message("doctor.check.line", how=c.how, found=c.found) for c in m.checks if c.what == "gpus"
    ]
    return Message("doctor.problem.no_nvidia_gpu", checked=joined(list(how)) or "")


# --- GPUs ---------------------------------------------------------------------------------
def _text(value: Any) -> str:
    return value.decode() if isinstance(value, bytes) else str(value)


def _from_nvml(p: Probes, m: Machine) -> bool:
    nvml = p.nvml()
    if nvml is None:
        m.checks.append(Check("gpus", "NVML", Message("doctor.check.nvml_missing")))
        return False
    try:
        nvml.nvmlInit()
    except Exception as e:  # NVMLError_LibraryNotFound, _DriverNotLoaded, ...
        m.checks.append(Check("gpus", "NVML", Message("doctor.check.nvml_start", error=str(e))))
        return False
    try:
        m.driver = _text(nvml.nvmlSystemGetDriverVersion())
        for i in range(int(nvml.nvmlDeviceGetCount())):
            h = nvml.nvmlDeviceGetHandleByIndex(i)
            mem = nvml.nvmlDeviceGetMemoryInfo(h)
            major, minor = nvml.nvmlDeviceGetCudaComputeCapability(h)
            m.gpus.append(
                Gpu(
                    i,
                    _text(nvml.nvmlDeviceGetName(h)),
                    f"{major}.{minor}",
                    int(mem.total),
                    int(mem.used),
                )
            )
    except Exception as e:
        m.checks.append(Check("gpus", "NVML", Message("doctor.check.nvml_query", error=str(e))))
        m.gpus.clear()
        return False
    finally:
        with contextlib.suppress(Exception):
            nvml.nvmlShutdown()
    m.gpu_source = "NVML"
    found = Message("doctor.check.gpus_driver", count=len(m.gpus), driver=m.driver)
    m.checks.append(Check("gpus", "NVML", found))
    return bool(m.gpus)


_MEM = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*(MiB|GiB)?\s*$")


def _mem_bytes(text: str) -> int | None:
    mt = _MEM.match(text)
    if not mt:
        return None
    scale = 1024 * MIB if mt.group(2) == "GiB" else MIB
    return int(float(mt.group(1)) * scale)


def parse_smi(stdout: str) -> tuple[str | None, list[Gpu]]:
    """Parse the CSV of :data:`SMI_QUERY` (with or without the compute_cap column)."""
    driver: str | None = None
    gpus: list[Gpu] = []
    for line in stdout.splitlines():
        cols = [c.strip() for c in line.split(",")]
        if len(cols) < 4 or not cols[0]:
            continue
        driver = cols[1] or driver
        cc = cols[4] if len(cols) > 4 and re.match(r"^\d+\.\d+$", cols[4]) else None
        gpus.append(Gpu(len(gpus), cols[0], cc, _mem_bytes(cols[2]), _mem_bytes(cols[3])))
    return driver, gpus


def _from_smi(p: Probes, m: Machine) -> None:
    cmd = list(SMI_QUERY)
    try:
        rc, out, err = p.run(cmd)
        if rc != 0 and "compute_cap" in (out + err):  # drivers before compute_cap existed
            cmd[1] = cmd[1].replace(",compute_cap", "")
            rc, out, err = p.run(cmd)
    except (FileNotFoundError, PermissionError):
        m.checks.append(Check("gpus", "nvidia-smi", Message("doctor.check.smi_missing")))
        return
    except Exception as e:  # a hung or broken nvidia-smi
        m.checks.append(Check("gpus", "nvidia-smi", Message("doctor.check.failed", error=str(e))))
        return
    text = (out + err).strip()
    if rc != 0:
        first = text.splitlines()[0] if text else f"exit code {rc}"  # as a shell says it
        if "communicate with the NVIDIA driver" in text or "driver" in first.lower():
            m.problems.append(
                Problem(
                    "driver_not_loaded",
                    "error",
                    Message("doctor.problem.driver_not_loaded", said=first),
                )
            )
        m.checks.append(Check("gpus", "nvidia-smi", first))
        return
    if "No devices were found" in text:
        m.checks.append(Check("gpus", "nvidia-smi", Message("doctor.check.no_devices")))
        return
    driver, gpus = parse_smi(out)
    m.driver, m.gpus, m.gpu_source = driver, gpus, "nvidia-smi"
    found = Message("doctor.check.gpus_driver", count=len(gpus), driver=driver)
    m.checks.append(Check("gpus", "nvidia-smi", found))


def _from_torch_cuda(p: Probes, m: Machine) -> None:
    torch = p.import_torch()
    if torch is None:
        return
    try:
        count = int(torch.cuda.device_count())
        for i in range(count):
            props = torch.cuda.get_device_properties(i)
            m.gpus.append(
                Gpu(i, str(props.name), f"{props.major}.{props.minor}", int(props.total_memory))
            )
    except Exception as e:
        m.checks.append(Check("gpus", "torch.cuda", Message("doctor.check.failed", error=str(e))))
        return
    if m.gpus:
        m.gpu_source = "torch.cuda"
    m.checks.append(Check("gpus", "torch.cuda", Message("doctor.check.gpus", count=len(m.gpus))))


# --- torch --------------------------------------------------------------------------------
_CUDA_LINE = re.compile(r"^cuda\s*(?::[^=]*)?=\s*['\"]([\d.]+)['\"]", re.M)


def _torch(p: Probes, m: Machine) -> TorchInfo | None:
    version = p.version("torch")
    if version is None:
        m.checks.append(Check("torch", "package metadata", Message("doctor.check.not_installed")))
        return None
    vfile = p.torch_version_file() or ""
    found = _CUDA_LINE.search(vfile)
    cuda = found.group(1) if found else None
    if cuda is None and "+cu" in version:
        tag = version.split("+cu")[1][:3]
        cuda = f"{tag[:2]}.{tag[2:]}"
    info = TorchInfo(version, cuda, None, "package metadata and torch/version.py (not imported)")
    if m.gpus and cuda:
        _torch_runtime(p, info)
    said = Message(
        "doctor.check.torch",
        version=version,
        cuda=cuda or Message("doctor.check.cpu_build"),
    )
    m.checks.append(Check("torch", info.how, said))
    return info


def _torch_runtime(p: Probes, info: TorchInfo) -> None:
    """Import torch for what only it knows: its compiled arch list and what CUDA init says."""
    torch = p.import_torch()
    if torch is None:
        info.how += "; import torch failed"
        return
    info.how = "import torch"
    try:
        flags = getattr(torch._C, "_cuda_getArchFlags", None)
        arch = flags() if flags is not None else " ".join(torch.cuda.get_arch_list())
        info.arch_list = arch.split() if arch else None
    except Exception:
        info.arch_list = None
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        try:
            info.cuda_available = bool(torch.cuda.is_available())
        except Exception as e:
            info.cuda_available = False
            info.cuda_warnings.append(str(e))
    info.cuda_warnings += [str(w.message).strip() for w in caught]


def _nvcc(p: Probes, m: Machine) -> str | None:
    try:
        rc, out, _ = p.run(["nvcc", "--version"])
    except Exception:
        m.checks.append(Check("nvcc", "nvcc --version", Message("doctor.check.nvcc_missing")))
        return None
    found = re.search(r"release (\d+\.\d+)", out)
    version = found.group(1) if rc == 0 and found else None
    said = Message("doctor.check.nvcc", version=version) if version else "?"
    m.checks.append(Check("nvcc", "nvcc --version", said))
    return version
