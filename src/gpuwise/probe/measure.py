"""``probe --measure``: the reference step on real tensors, timed, with its real peak memory.

On CUDA the model is built on the GPU from its config with random weights (no download);
attention dropout stays on (CUDA's fused kernels handle it) and the optimizer keeps torch's
default implementation (foreach on CUDA). QLoRA loads the random weights through transformers'
``BitsAndBytesConfig`` (NF4, double quantization, the compute dtype), ``adamw-8bit`` is
bitsandbytes' ``AdamW8bit``. After building, the allocator's cache is emptied and its peak
statistics reset, so the peak is that of the steps (weights included, as a plan counts them).

Read on CUDA: ``torch.cuda.max_memory_allocated`` and ``max_memory_reserved`` over warm-up and
timed steps, and what the driver reports in use after the steps (NVML where nvidia-ml-py is
installed, else ``cudaMemGetInfo``); the CUDA context is that less PyTorch's reserved memory
(less what other processes held before this one started, when NVML can say). Each timed step
sits between two ``torch.cuda.synchronize()`` calls.

On the CPU (``device="cpu"``, for tests and CI) the step runs as the simulator runs it (attention
dropout zeroed, foreach optimizer, CUDA's fp32 ops under autocast) on real tensors, and the peak
is the :class:`~gpuwise.probe.live_bytes.LiveBytes` count: no allocator, no context.
"""

from __future__ import annotations

import contextlib
import gc
import statistics
import tempfile
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

from gpuwise.errors import GpuwiseError
from gpuwise.i18n import Message, Text
from gpuwise.models.spec import ModelSpec
from gpuwise.probe.step import (
    auto_class,
    autocast,
    build_model,
    hf_config,
    import_bitsandbytes,
    prepare_training,
    require_torch,
    torch_dtype,
)
from gpuwise.probe.tricks import causal_lm_loss
from gpuwise.workload import Workload

MAX_STEPS = 10_000


@dataclass
class Measured:
    """What one measured run found. Memory figures are None where the device has no such
    figure (reserved and driver memory on the CPU) or the run ran out of memory first."""

    device: str
    device_name: str
    oom: bool = False
    oom_during: str | None = None
    oom_message: str | None = None
    peak_allocated_bytes: int | None = None
    peak_reserved_bytes: int | None = None
    driver_used_bytes: int | None = None
    driver_source: str | None = None
    context_bytes: int | None = None
    total_memory_bytes: int | None = None
    step_s: list[float] = field(default_factory=list)
    warmup: int = 0
    attn_implementation: str = "unknown"
    versions: dict[str, str] = field(default_factory=dict)
    seconds: float = 0.0
    notes: list[Text] = field(default_factory=list)

    @property
    def median_step_s(self) -> float | None:
        return statistics.median(self.step_s) if self.step_s else None


def check_counts(steps: int, warmup: int) -> None:
    """Refuse step counts that cannot give a figure (or would run for days)."""
    if not 1 <= steps <= MAX_STEPS:
        raise GpuwiseError(
            Message("probe.error.count", flag="--steps", low=1, high=MAX_STEPS, value=steps)
        )
    if not 0 <= warmup <= MAX_STEPS:
        raise GpuwiseError(
            Message("probe.error.count", flag="--warmup", low=0, high=MAX_STEPS, value=warmup)
        )


def cuda_device() -> tuple[str, int | None]:
    """The name and total memory of the GPU a ``--measure`` run uses, read as the run reads
    them (so that the card, and the precision it is planned in, are known before the step)."""
    torch = require_torch("probe --measure")
    run = _CudaRun(torch)
    out = Measured(device="cuda", device_name=run.name())
    run.read_total(out)
    return out.device_name, out.total_memory_bytes


def unsupported_reason(w: Workload) -> Message | None:
    """Why this workload cannot be measured here, or None."""
    if w.task == "infer" and (w.stored_weight_dtype in ("awq", "gptq")):
        return Message("probe.why.awq_gptq")
    if w.task == "infer" and (w.stored_weight_dtype == "fp8" or w.cache_dtype == "fp8"):
        return Message("probe.why.fp8_engine")
    return None


def measure(
    config: dict[str, Any],
    spec: ModelSpec,
    w: Workload,
    *,
    device: str = "cuda",
    steps: int = 5,
    warmup: int = 2,
) -> Measured:
    """Run ``warmup`` + ``steps`` reference steps (or prefills) on ``device``; time the last
    ``steps``. An out-of-memory comes back as ``oom=True``, never raised."""
    check_counts(steps, warmup)
    if w.task == "train" and steps + warmup < 2:
        raise GpuwiseError(Message("probe.error.two_steps"))
    reason = unsupported_reason(w)
    if reason:
        raise GpuwiseError(Message("probe.error.cannot_measure", reason=reason))
    torch = require_torch("probe --measure")
    if device == "cuda" and not torch.cuda.is_available():
        raise GpuwiseError(Message("probe.error.no_cuda", version=str(torch.__version__)))
    if device not in ("cuda", "cpu"):
        raise GpuwiseError(Message("probe.error.device", device=repr(device)))
    bnb_optimizer = w.optimizer in ("adamw-8bit", "paged-adamw-8bit")
    if device == "cpu" and (w.method == "qlora" or bnb_optimizer):
        raise GpuwiseError(Message("probe.error.bnb_cuda_only"))
    if device == "cpu" and w.task == "infer" and w.stored_weight_dtype in ("int8", "nf4"):
        raise GpuwiseError(Message("probe.error.weights_cuda_only", dtype=w.stored_weight_dtype))
    run = _CudaRun(torch) if device == "cuda" else _CpuRun(torch)
    started = time.perf_counter()
    out = Measured(device=device, device_name=run.name(), warmup=warmup)
    out.versions = _versions(w)
    phase = "build"
    try:
        model, optimizer = run.build(config, spec, w)
        out.attn_implementation = str(getattr(model.config, "_attn_implementation", "unknown"))
        run.reset()
        step = _train_step if w.task == "train" else _prefill_step
        with run.counting(w):
            for i in range(warmup + steps):
                phase = "warm-up step" if i < warmup else "timed step"
                seconds = run.timed(lambda: step(model, optimizer, spec, w, run.device))
                if i >= warmup:
                    out.step_s.append(seconds)
        run.read(out)
    except Exception as e:
        if not run.is_oom(e):
            raise
        out.oom, out.oom_during = True, phase
        out.oom_message = str(e).splitlines()[0][:300] if str(e) else type(e).__name__
        run.read_total(out)
    finally:
        model = optimizer = None
        run.cleanup()
    out.seconds = time.perf_counter() - started
    return out


def _versions(w: Workload) -> dict[str, str]:
    import torch
    import transformers

    out = {"torch": torch.__version__, "transformers": transformers.__version__}
    if w.is_lora:
        try:
            import peft
        except ImportError:
            raise GpuwiseError(Message("probe.error.needs_peft", method=w.method)) from None
        out["peft"] = peft.__version__
    needs_bnb = w.method == "qlora" or w.optimizer in ("adamw-8bit", "paged-adamw-8bit")
    if needs_bnb or (w.task == "infer" and w.stored_weight_dtype in ("int8", "nf4")):
        out["bitsandbytes"] = import_bitsandbytes("probe --measure of this workload").__version__
    if torch.version.cuda:
        out["cuda"] = str(torch.version.cuda)
    return out


# -- the step ----------------------------------------------------------------------------


def _train_step(model: Any, optimizer: Any, spec: ModelSpec, w: Workload, device: str) -> None:
    import torch

    ids = torch.randint(0, spec.vocab_size, (w.batch, w.seq), device=device)
    with autocast(w, torch_dtype(w.compute_dtype), device):
        loss = causal_lm_loss(model, ids, w)
    del ids
    loss.backward()
    del loss
    optimizer.step()
    optimizer.zero_grad(set_to_none=True)


def _prefill_step(model: Any, optimizer: Any, spec: ModelSpec, w: Workload, device: str) -> None:
    import torch

    ids = torch.randint(0, model.config.vocab_size, (w.batch, w.seq), device=device)
    with torch.no_grad():
        out = model(input_ids=ids, use_cache=True, logits_to_keep=1)
    del out, ids


def _prepare(model: Any, w: Workload, foreach: bool | None) -> tuple[Any, Any]:
    if w.task == "infer":
        model.eval()
        return model, None
    return prepare_training(model, w, foreach=foreach)


# -- devices -----------------------------------------------------------------------------


class _CpuRun:
    """Real tensors on the CPU, standing for CUDA as the simulator does; LiveBytes peak."""

    device = "cpu"

    def __init__(self, torch: Any) -> None:
        self.torch = torch
        self.counter: Any = None

    def name(self) -> str:
        import platform

        return f"CPU ({platform.processor() or platform.machine()})"

    def build(self, config: dict[str, Any], spec: ModelSpec, w: Workload) -> tuple[Any, Any]:
        from gpuwise.probe.live_bytes import LiveBytes

        dtype = torch_dtype(w.param_dtype if w.task == "train" else w.stored_weight_dtype)
        model = build_model(config, spec, dtype, zero_attention_dropout=True)
        model, optimizer = _prepare(model, w, foreach=True)
        self.counter = LiveBytes()
        for t in [*model.parameters(), *model.buffers()]:
            self.counter.track(t, "weights")
        return model, optimizer

    def reset(self) -> None:
        pass

    @contextlib.contextmanager
    def counting(self, w: Workload) -> Iterator[None]:
        from gpuwise.probe.simulate import cuda_like_autocast

        with self.counter, cuda_like_autocast(w):
            yield

    def timed(self, fn: Callable[[], None]) -> float:
        start = time.perf_counter()
        fn()
        return time.perf_counter() - start

    def read(self, out: Measured) -> None:
        out.peak_allocated_bytes = int(self.counter.peak)
        out.notes.append(Message("probe.note.cpu"))

    def read_total(self, out: Measured) -> None:
        pass

    def is_oom(self, e: BaseException) -> bool:
        return False

    def cleanup(self) -> None:
        self.counter = None
        gc.collect()


class _CudaRun:
    """The real GPU: allocator statistics, driver-reported use, synchronized timing."""

    device = "cuda"

    def __init__(self, torch: Any) -> None:
        self.torch = torch
        self.baseline_used, self.nvml_handle = _nvml_baseline()

    def name(self) -> str:
        return str(self.torch.cuda.get_device_name())

    def build(self, config: dict[str, Any], spec: ModelSpec, w: Workload) -> tuple[Any, Any]:
        quantized = w.method == "qlora" or (
            w.task == "infer" and w.stored_weight_dtype in ("int8", "nf4")
        )
        if quantized:
            model = _build_quantized(config, spec, w)
        else:
            dtype = torch_dtype(w.param_dtype if w.task == "train" else w.stored_weight_dtype)
            model = build_model(config, spec, dtype, zero_attention_dropout=False, device="cuda")
        return _prepare(model, w, foreach=None)

    def reset(self) -> None:
        gc.collect()
        self.torch.cuda.synchronize()
        self.torch.cuda.empty_cache()
        self.torch.cuda.reset_peak_memory_stats()

    @contextlib.contextmanager
    def counting(self, w: Workload) -> Iterator[None]:
        yield

    def timed(self, fn: Callable[[], None]) -> float:
        self.torch.cuda.synchronize()
        start = time.perf_counter()
        fn()
        self.torch.cuda.synchronize()
        return time.perf_counter() - start

    def read(self, out: Measured) -> None:
        cuda = self.torch.cuda
        out.peak_allocated_bytes = int(cuda.max_memory_allocated())
        out.peak_reserved_bytes = int(cuda.max_memory_reserved())
        used, source = _driver_used(self.torch, self.nvml_handle)
        out.driver_used_bytes, out.driver_source = used, source
        others = self.baseline_used or 0
        out.context_bytes = max(0, used - int(cuda.memory_reserved()) - others)
        self.read_total(out)
        key = "probe.note.driver_no_baseline" if self.baseline_used is None else "probe.note.driver"
        out.notes.append(Message(key, source=source))

    def read_total(self, out: Measured) -> None:
        out.total_memory_bytes = int(self.torch.cuda.get_device_properties(0).total_memory)

    def is_oom(self, e: BaseException) -> bool:
        oom = getattr(self.torch, "OutOfMemoryError", None) or self.torch.cuda.OutOfMemoryError
        if isinstance(e, oom):
            return True
        return isinstance(e, RuntimeError) and "out of memory" in str(e).lower()

    def cleanup(self) -> None:
        gc.collect()
        with contextlib.suppress(Exception):
            self.torch.cuda.empty_cache()


def _nvml_baseline() -> tuple[int | None, Any]:
    """NVML's used bytes on device 0 before this process touches CUDA, and the handle."""
    try:
        import os

        import pynvml

        pynvml.nvmlInit()
        visible = os.environ.get("CUDA_VISIBLE_DEVICES", "").split(",")[0].strip()
        if visible.startswith("GPU-"):
            handle = pynvml.nvmlDeviceGetHandleByUUID(visible)
        else:
            handle = pynvml.nvmlDeviceGetHandleByIndex(int(visible) if visible else 0)
        return int(pynvml.nvmlDeviceGetMemoryInfo(handle).used), handle
    except Exception:  # no nvidia-ml-py, no driver, a MIG slice: fall back to cudaMemGetInfo
        return None, None


def _driver_used(torch: Any, handle: Any) -> tuple[int, str]:
    if handle is not None:
        try:
            import pynvml

            return int(pynvml.nvmlDeviceGetMemoryInfo(handle).used), "NVML"
        except Exception:
            pass
    free, total = torch.cuda.mem_get_info()
    return int(total - free), "cudaMemGetInfo"


def _build_quantized(config: dict[str, Any], spec: ModelSpec, w: Workload) -> Any:
    """Random weights loaded through transformers' bitsandbytes quantization on the GPU.

    The model is first built in the compute dtype in host RAM (the card only ever holds the
    quantized model, as it would when loading a checkpoint), then its state dict loaded onto the
    GPU with a ``BitsAndBytesConfig``; transformers versions that cannot load from a state dict
    get it through a temporary folder.
    """
    import torch
    import transformers

    what = "--method qlora" if w.task == "train" else f"--weight-dtype {w.stored_weight_dtype}"
    import_bitsandbytes(what)
    compute = torch_dtype(w.compute_dtype)
    if w.task == "infer" and w.stored_weight_dtype == "int8":
        qc = transformers.BitsAndBytesConfig(load_in_8bit=True)
    else:
        qc = transformers.BitsAndBytesConfig(
            load_in_4bit=True,
            bnb_4bit_quant_type="nf4",
            bnb_4bit_use_double_quant=True,
            bnb_4bit_compute_dtype=compute,
        )
    cfg = hf_config(config, spec, zero_attention_dropout=False)
    auto = auto_class(spec)
    random = build_model(config, spec, compute, zero_attention_dropout=False, device="cpu")
    kwargs = {"quantization_config": qc, "device_map": {"": 0}, "dtype": compute}
    state = random.state_dict()
    try:
        return auto.from_pretrained(None, config=cfg, state_dict=state, **kwargs)
    except (TypeError, ValueError, OSError):
        with tempfile.TemporaryDirectory(prefix="gpuwise-measure-") as folder:
            random.save_pretrained(folder)
            del random, state
            torch.cuda.empty_cache()
            return auto.from_pretrained(folder, **kwargs)
