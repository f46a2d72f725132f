"""A training step of a small GPT: GPT-2 124M (the ``gpt2`` preset) under ``amp-bf16`` (fp16 on
cards without bf16), tokens/s and MFU. MFU = model FLOPs per token
(:func:`gpuwise.timing.flops.train_flops_per_token`, the plan's own count: 6N plus attention)
x tokens/s / the card's dense rate for the compute dtype (:func:`gpuwise.timing.rates.matmul_rate`).

On the CPU the step runs with the same code, smaller: batch 1 x 128 tokens, or with ``quick`` a
two-layer GPT-2 of width 128 (named in the result), and no MFU (no catalogue rate).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from gpuwise.bench.device import Device
from gpuwise.models.build import spec_from_config
from gpuwise.models.resolve import resolve
from gpuwise.timing.flops import train_flops_per_token
from gpuwise.timing.rates import matmul_rate
from gpuwise.workload import Workload, validate

if TYPE_CHECKING:
    from gpuwise.workload import Precision

#: The two-layer GPT-2 of ``--quick`` on the CPU.
QUICK_GPT2 = {
    "n_layer": 2,
    "n_embd": 128,
    "n_head": 4,
    "vocab_size": 8000,
    "n_inner": 512,
    "bos_token_id": 0,
    "eos_token_id": 0,
}


def shape(dev: Device, quick: bool) -> tuple[str, dict[str, Any], Workload]:
    """The model's name, config and workload for this device."""
    config = dict(resolve("gpt2").config)
    name = "gpt2 (124M)"
    if dev.kind == "cpu" and quick:
        config.update(QUICK_GPT2)
        name = "gpt2, 2 layers x 128 (quick)"
    precision: Precision = "amp-bf16"
    if dev.kind == "cuda":
        bf16 = dev.torch.cuda.is_bf16_supported(including_emulation=False)
        batch, seq = (2 if quick else 8), 1024
        precision = "amp-bf16" if bf16 else "amp-fp16"
    else:
        batch, seq = 1, 128
    return name, config, Workload(batch=batch, seq=seq, precision=precision)


def run_train_step(dev: Device, quick: bool) -> dict[str, Any]:
    from gpuwise.probe.measure import measure

    name, config, w = shape(dev, quick)
    spec = spec_from_config(config, name=name, source="bench", where=name)
    w = validate(w, spec)
    m = measure(config, spec, w, device=dev.kind, steps=2 if quick else 5, warmup=1 if quick else 2)
    step = m.median_step_s
    tokens_per_s = w.batch * w.seq / step if step else None
    flops = train_flops_per_token(spec, w)
    mfu = spec_rate = None
    if dev.card is not None and tokens_per_s is not None:
        rate = matmul_rate(dev.card, w.compute_dtype).flops_per_s
        if rate:
            spec_rate = rate / 1e12
            mfu = flops.model * tokens_per_s / rate
    return {
        "model": name,
        "params": spec.params,
        "batch": w.batch,
        "seq": w.seq,
        "precision": w.precision,
        "oom": m.oom,
        "step_s": step,
        "tokens_per_s": tokens_per_s,
        "model_flops_per_token": flops.model,
        "spec_tflops": spec_rate,
        "mfu": mfu,
        "peak_allocated_bytes": m.peak_allocated_bytes,
    }
