"""Dense matrix-product throughput per dtype: ``2·n³`` FLOPs per ``n x n`` product.

fp32 runs with TF32 off (PyTorch's default for matmuls), tf32 with it on; fp16 and bf16 are
plain ``torch.matmul`` (FP32 accumulate, the catalogue's tensor rates); fp8 is
``torch._scaled_mm`` on e4m3 inputs with a bf16 output, where the card has fp8 (compute
capability 8.9+). Each is compared with the catalogue's figure for the card's dtype.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from gpuwise.bench.device import Device
from gpuwise.i18n import Message, Text

DTYPES = ("fp32", "tf32", "fp16", "bf16", "fp8")

#: The catalogue field holding each dtype's dense peak.
SPEC_FIELD = {
    "fp32": "fp32_tflops",
    "tf32": "tf32_tensor_tflops",
    "fp16": "fp16_tensor_tflops",
    "bf16": "bf16_tensor_tflops",
    "fp8": "fp8_tensor_tflops",
}


@dataclass
class MatmulResult:
    dtype: str
    size: int
    tflops: float | None
    spec_tflops: float | None
    skipped: Text | None = None

    def to_dict(self) -> dict[str, Any]:
        frac = None
        if self.tflops is not None and self.spec_tflops:
            frac = self.tflops / self.spec_tflops
        return {
            "dtype": self.dtype,
            "size": self.size,
            "tflops": self.tflops,
            "spec_tflops": self.spec_tflops,
            "fraction_of_spec": frac,
            "skipped": None if self.skipped is None else str(self.skipped),  # said now
        }


def spec_tflops(dev: Device, dtype: str) -> float | None:
    """The catalogue's dense peak for ``dtype`` on the card (None: CPU, unknown, or none)."""
    card = dev.card
    if card is None:
        return None
    if dtype == "fp8":
        return None if card.fp8_tensor_tflops is None else float(card.fp8_tensor_tflops)
    # the rate plan times the dtype at (e.g. fp16 without tensor cores: the FP32 rate), so a
    # bench's fraction of it is what calibrates the plan
    from gpuwise.timing.rates import matmul_rate

    rate = matmul_rate(card, "fp32" if dtype == "tf32" else dtype, allow_tf32=dtype == "tf32")
    return None if rate.flops_per_s is None else rate.flops_per_s / 1e12


def skip_reason(dev: Device, dtype: str) -> Text | None:
    """Why ``dtype`` is not measured on ``dev`` (None: it is)."""
    torch = dev.torch
    if dev.kind == "cpu":
        if dtype in ("tf32", "fp8"):
            return Message("bench.skip.cpu", dtype=dtype)
        return None
    if dtype == "fp8":
        if torch.cuda.get_device_capability(0) < (8, 9):
            return Message("bench.skip.fp8_cc")
        if not hasattr(torch, "_scaled_mm") or not hasattr(torch, "float8_e4m3fn"):
            return Message("bench.skip.scaled_mm", version=str(torch.__version__))
    if dtype == "tf32" and torch.cuda.get_device_capability(0) < (8, 0):
        return Message("bench.skip.tf32_cc")
    if dtype == "bf16" and not torch.cuda.is_bf16_supported(including_emulation=False):
        return Message("bench.skip.bf16")
    return None


def run_matmul(dev: Device, dtype: str, size: int, min_s: float) -> MatmulResult:
    spec = spec_tflops(dev, dtype)
    reason = skip_reason(dev, dtype)
    if reason:
        return MatmulResult(dtype, size, None, spec, reason)
    fn = _fp8_product(dev, size) if dtype == "fp8" else _product(dev, dtype, size)
    torch = dev.torch
    tf32 = torch.backends.cuda.matmul.allow_tf32
    torch.backends.cuda.matmul.allow_tf32 = dtype == "tf32"
    try:
        seconds = dev.timed(fn, min_s)
    except (RuntimeError, TypeError, ValueError) as e:  # a kernel or signature this build lacks
        return MatmulResult(dtype, size, None, spec, str(e).splitlines()[0][:120])
    finally:
        torch.backends.cuda.matmul.allow_tf32 = tf32
    return MatmulResult(dtype, size, 2 * size**3 / seconds / 1e12, spec)


def _product(dev: Device, dtype: str, size: int) -> Any:
    torch = dev.torch
    tdtype = {"fp32": torch.float32, "tf32": torch.float32, "fp16": torch.float16}.get(
        dtype, torch.bfloat16
    )
    a = torch.randn(size, size, device=dev.kind, dtype=tdtype)
    b = torch.randn(size, size, device=dev.kind, dtype=tdtype)
    out = torch.empty(size, size, device=dev.kind, dtype=tdtype)
    return lambda: torch.matmul(a, b, out=out)


def _fp8_product(dev: Device, size: int) -> Any:
    torch = dev.torch
    a = torch.randn(size, size, device="cuda").to(torch.float8_e4m3fn)
    b = torch.randn(size, size, device="cuda").to(torch.float8_e4m3fn).t()  # column-major
    one = torch.tensor(1.0, device="cuda")

    def fn() -> Any:
        return torch._scaled_mm(a, b, scale_a=one, scale_b=one, out_dtype=torch.bfloat16)

    return fn
