"""What doctor knows about a machine: found by detection or described with flags."""

from __future__ import annotations

from dataclasses import dataclass, field

from gpuwise.i18n import Text


@dataclass
class Gpu:
    """One GPU as the driver (or the user) reports it."""

    index: int
    name: str
    compute_capability: str | None
    memory_total_bytes: int | None = None
    memory_used_bytes: int | None = None


@dataclass
class TorchInfo:
    """The installed (or described) PyTorch build."""

    version: str
    cuda: str | None
    arch_list: list[str] | None
    how: str
    cuda_available: bool | None = None
    cuda_warnings: list[str] = field(default_factory=list)


@dataclass
class FrameworkInfo:
    """An installed (or described) TensorFlow or JAX."""

    name: str
    version: str
    how: str
    #: The distribution found (``tensorflow-cpu``, ``jax``), None when described.
    distribution: str | None = None
    #: JAX: the CUDA plugin installed (``cuda12``, ``cuda13``) or "" for none; TensorFlow: None.
    variant: str | None = None
    #: TensorFlow's build info (tf.sysconfig.get_build_info) when it was imported.
    build_cuda: str | None = None
    arch_list: list[str] | None = None
    cuda_build: bool | None = None
    gpus_visible: int | None = None


@dataclass
class Check:
    """One thing doctor looked at, how, and what it found."""

    what: str
    how: Text
    found: Text


@dataclass
class Problem:
    code: str
    severity: str
    message: Text


@dataclass
class Machine:
    """Everything the verdicts need."""

    mode: str
    os: str
    os_detail: str
    python: str
    driver: str | None = None
    #: True when ``driver`` came from --driver (checked already), False when detected.
    driver_given: bool = False
    gpus: list[Gpu] = field(default_factory=list)
    gpu_source: str | None = None
    torch: TorchInfo | None = None
    torch_checked: bool = False
    tensorflow: FrameworkInfo | None = None
    jax: FrameworkInfo | None = None
    #: True when ``python`` came from --python.
    python_given: bool = False
    nvcc: str | None = None
    libraries: dict[str, str | None] = field(default_factory=dict)
    checks: list[Check] = field(default_factory=list)
    problems: list[Problem] = field(default_factory=list)
