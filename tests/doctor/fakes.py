"""Recorded outputs and fake builds for doctor's detection: nvidia-smi CSV, an NVML module,
torch builds. Each scenario is named after the failure it reproduces."""

from __future__ import annotations

from dataclasses import dataclass, field
from types import SimpleNamespace
from typing import Any

from gpuwise.doctor.detect import Probes

SMI_DRIVER_NOT_LOADED = (
    "NVIDIA-SMI has failed because it couldn't communicate with the NVIDIA driver. Make sure "
    "that the latest NVIDIA driver is installed and running.\n"
)

NVCC_12_8 = (
    "nvcc: NVIDIA (R) Cuda compiler driver\nCuda compilation tools, release 12.8, V12.8.93\n"
)

ARCH = {
    "2.6.0+cu124": "sm_50 sm_60 sm_70 sm_75 sm_80 sm_86 sm_90",
    "2.8.0+cu128": "sm_70 sm_75 sm_80 sm_86 sm_90 sm_100 sm_120",
    "2.14.0+cu130": "sm_75 sm_80 sm_86 sm_90 sm_100 sm_120 compute_120",
}


def version_py(version: str) -> str:
    """torch/version.py as a wheel ships it."""
    local = version.split("+")[1] if "+" in version else ""
    cuda = f"'{local[2:4]}.{local[4:]}'" if local.startswith("cu") else "None"
    return (
        "from typing import Optional\n\n"
        f"__version__ = '{version}'\ndebug = False\ncuda: Optional[str] = {cuda}\n"
    )


def fake_torch(version: str, warnings_at_init: tuple[str, ...] = ()) -> Any:
    """A torch module with just what doctor calls: the compiled arch list and CUDA init."""
    import warnings

    def is_available() -> bool:
        for w in warnings_at_init:
            warnings.warn(w, UserWarning, stacklevel=2)
        return True

    return SimpleNamespace(
        __version__=version,
        _C=SimpleNamespace(_cuda_getArchFlags=lambda: ARCH[version]),
        cuda=SimpleNamespace(is_available=is_available, device_count=lambda: 0),
    )


class FakeNvml:
    """The pynvml calls doctor makes, answering with fixed devices."""

    def __init__(self, driver: str, devices: list[tuple[str, tuple[int, int], int, int]]):
        self.driver = driver
        self.devices = devices
        self.shutdown = False

    def nvmlInit(self) -> None:
        pass

    def nvmlShutdown(self) -> None:
        self.shutdown = True

    def nvmlSystemGetDriverVersion(self) -> bytes:
        return self.driver.encode()  # old nvidia-ml-py returns bytes

    def nvmlDeviceGetCount(self) -> int:
        return len(self.devices)

    def nvmlDeviceGetHandleByIndex(self, i: int) -> int:
        return i

    def nvmlDeviceGetName(self, h: int) -> str:
        return self.devices[h][0]

    def nvmlDeviceGetCudaComputeCapability(self, h: int) -> tuple[int, int]:
        return self.devices[h][1]

    def nvmlDeviceGetMemoryInfo(self, h: int) -> Any:
        return SimpleNamespace(total=self.devices[h][2], used=self.devices[h][3], free=0)


@dataclass
class Scenario:
    """What the machine answers. ``smi`` None: nvidia-smi is not installed."""

    smi: tuple[int, str, str] | None = None
    nvml: Any = None
    torch_version: str | None = None
    torch_module: Any = None
    libs: dict[str, str] = field(default_factory=dict)
    nvcc: str | None = None
    os_name: str = "linux"
    torch_imported: int = 0
    commands: list[list[str]] = field(default_factory=list)
    #: ``import tensorflow`` / ``import jax`` answer these modules (absent: the import fails).
    modules: dict[str, Any] = field(default_factory=dict)
    imported: list[str] = field(default_factory=list)

    def probes(self) -> Probes:
        def run(cmd: list[str]) -> tuple[int, str, str]:
            self.commands.append(cmd)
            if cmd[0] == "nvidia-smi":
                if self.smi is None:
                    raise FileNotFoundError(cmd[0])
                return self.smi
            if cmd[0] == "nvcc":
                if self.nvcc is None:
                    raise FileNotFoundError(cmd[0])
                return 0, self.nvcc, ""
            raise FileNotFoundError(cmd[0])

        def version(dist: str) -> str | None:
            if dist == "torch":
                return self.torch_version
            return self.libs.get(dist)

        def import_torch() -> Any:
            self.torch_imported += 1
            return self.torch_module

        def import_framework(name: str) -> Any:
            self.imported.append(name)
            return self.modules.get(name)

        return Probes(
            run=run,
            import_framework=import_framework,
            nvml=lambda: self.nvml,
            version=version,
            torch_version_file=lambda: (
                version_py(self.torch_version) if self.torch_version else None
            ),
            import_torch=import_torch,
            os_name=lambda: self.os_name,
            os_detail=lambda: f"{self.os_name} (recorded)",
            python=lambda: "3.11.7",
        )


def fake_tensorflow(build: dict[str, Any], gpus: int) -> Any:
    """A tensorflow module with what doctor calls: its build info and the GPUs it lists."""
    return SimpleNamespace(
        sysconfig=SimpleNamespace(get_build_info=lambda: dict(build)),
        config=SimpleNamespace(list_physical_devices=lambda kind: ["GPU"] * gpus),
    )


def fake_jax(platforms: tuple[str, ...]) -> Any:
    """A jax module whose devices() are on these platforms ("gpu", "cpu")."""
    return SimpleNamespace(devices=lambda: [SimpleNamespace(platform=p) for p in platforms])


def smi_rows(*rows: str) -> tuple[int, str, str]:
    return 0, "".join(r + "\n" for r in rows), ""
