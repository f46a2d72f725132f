"""Throughput, step time, time to train and energy of a plan on one card.

Training: ``step_s = compute_s + optimizer_s``, where ``compute_s`` is the forward and backward
of the step's work (:func:`~gpuwise.timing.flops.train_flops_per_token` x batch x seq) timed
layer by layer (:mod:`gpuwise.timing.step`: matmuls by their shapes, attention, bandwidth-bound
kernels, kernel launches, constants in ``data/step_model.json``, calibrated on published rows);
and ``optimizer_s`` is the optimizer step, memory-bound: the bytes it reads and writes per
trainable parameter (:data:`OPTIMIZER_ACCESSES`) at the card's bandwidth x the step model's
bandwidth efficiency, plus its launches.

Inference (the reference ``generate()``): the prefill is compute-bound, its FLOPs at the dense
rate x ``prefill_efficiency``. A decode step makes one token for each of ``batch`` sequences whose
cache holds ``seq`` tokens; it takes the longest of

- memory: the weights it reads (all but the input embedding table; for MoE, ``min(E, B·k)`` of
  the E experts of each layer — the most a batch of B tokens with k experts each can touch, an
  upper bound on bytes when tokens share experts) plus the whole KV cache, at bandwidth x
  ``bandwidth_efficiency`` (lower for bitsandbytes int8 / nf4 kernels);
- compute: its FLOPs at the dense rate x ``prefill_efficiency``;
- overhead: ``decode_overhead_s_per_layer`` x layers, the CPU time eager PyTorch needs to launch
  a step's kernels.

Energy is board power at TDP for the whole time (``tdp_w`` x seconds): an upper bound for most
runs, since cards rarely hold TDP through a step. Training energy needs ``tokens`` (time to
train); inference energy needs ``tokens`` too (the time to generate them at the decode rate).
"""

from __future__ import annotations

import functools

from gpuwise.catalog.card import Card
from gpuwise.i18n import Message
from gpuwise.memory.kv_cache import kv_cache_bytes
from gpuwise.memory.weights import weights_bytes as stored_weights_bytes
from gpuwise.models.spec import ModelSpec, ParamBlock
from gpuwise.packaged import packaged_json
from gpuwise.record import record
from gpuwise.timing.flops import (
    TrainFlops,
    adapter_params,
    decode_flops,
    prefill_flops,
    train_flops_per_token,
)
from gpuwise.timing.rates import matmul_rate
from gpuwise.timing.step import StepTime, constants, step_data, step_time
from gpuwise.units import DTYPE_BYTES
from gpuwise.workload import Workload

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

    from gpuwise.i18n import Text

GB = 1e9
JOULES_PER_KWH = 3.6e6

#: Bytes an optimizer step moves per trainable parameter, in units of the parameter's element
#: size ``p`` plus fixed bytes, as ``(p multiples, extra bytes)``. AdamW (torch, foreach): reads
#: param, grad, exp_avg, exp_avg_sq, writes param, exp_avg, exp_avg_sq (7 p) plus the temporary
#: the size of the second moments it writes and reads (2 p). Fused AdamW: the 7 p without the
#: temporary. 8-bit AdamW (bitsandbytes): param and grad read, param written (3 p), two 1-byte
#: states read and written (4 bytes). SGD with momentum: param, grad, buffer read, param and
#: buffer written (5 p). Adafactor: param and grad read, param written, factored second moments
#: negligible, plus an update temporary (5 p, an assumption).
OPTIMIZER_ACCESSES: dict[str, tuple[int, int]] = {
    "adamw": (9, 0),
    "adamw-fused": (7, 0),
    "adamw-8bit": (3, 4),
    "paged-adamw-8bit": (3, 4),  # AdamW8bit's kernel on paged states
    "sgd": (5, 0),
    "adafactor": (5, 0),
}


@functools.lru_cache(maxsize=1)
def efficiency() -> dict[str, Any]:
    """The assumed efficiencies, with their sources (``data/efficiency.json``)."""
    data: dict[str, Any] = packaged_json("gpuwise.timing", "data/efficiency.json")
    return data


def bandwidth_efficiency(weight_dtype: str) -> float:
    """Fraction of the memory bandwidth a decode step reaches with weights in ``weight_dtype``."""
    table = efficiency()["bandwidth_efficiency"]
    return float(table.get(weight_dtype, table["default"])["value"])


class Training:
    """What a training time (one card's, or several cards') answers by the names every time
    answers by: ``tokens_per_s`` and ``run_s``."""

    train_tokens_per_s: float | None
    time_to_train_s: float | None

    @property
    def tokens_per_s(self) -> float | None:
        """Tokens trained per second."""
        return self.train_tokens_per_s

    @property
    def run_s(self) -> float | None:
        """Seconds to train the tokens asked for (None without them)."""
        return self.time_to_train_s


@record
class TrainTime(Training):
    """Time of the reference training step on one card. None where it cannot be known.

    ``mfu`` is the share of the card's dense peak the step reaches on every FLOP executed (with
    gradient checkpointing the recompute counts as executed work; the model-FLOPs share is
    ``flops.model / flops.total``), as the per-layer model (:mod:`gpuwise.timing.step`) has it.
    ``tokens_per_s_low`` / ``_high``: the range the published rows the model was calibrated on
    put around the estimate (``data/step_model.json``, ``range``).
    """

    train_tokens_per_s: float | None
    step_s: float | None
    time_to_train_s: float | None
    energy_kwh: float | None
    mfu: float
    flops: TrainFlops
    flops_per_s: float | None
    compute_s: float | None
    optimizer_s: float
    notes: tuple[Text, ...] = ()
    step: StepTime | None = None

    @property
    def tokens_per_s_low(self) -> float | None:
        """The low end of the calibration's range around ``train_tokens_per_s``."""
        return scaled_tokens_per_s(self.train_tokens_per_s, "low")

    @property
    def tokens_per_s_high(self) -> float | None:
        """The high end of the calibration's range around ``train_tokens_per_s``."""
        return scaled_tokens_per_s(self.train_tokens_per_s, "high")


def scaled_tokens_per_s(tokens_per_s: float | None, end: str) -> float | None:
    """``tokens_per_s`` at the ``low`` or ``high`` end of the calibration's range."""
    if tokens_per_s is None:
        return None
    return tokens_per_s * float(step_data()["range"][end])


@record
class InferTime:
    """Prefill and decode throughput of the reference ``generate()`` on one card.

    ``decode_bound`` says what sets the decode step: "memory", "compute" or "overhead";
    ``decode_tokens_per_s_gpu_bound`` is the rate the card itself allows (memory or compute),
    which torch.compile or a serving engine approaches once CPU overhead is gone.
    ``time_to_generate_s`` and ``energy_kwh`` are given when a token count was.
    """

    prefill_tokens_per_s: float | None
    decode_tokens_per_s: float
    decode_tokens_per_s_gpu_bound: float
    energy_kwh: float | None
    bandwidth_efficiency: float
    prefill_efficiency: float
    decode_step_s: float
    decode_bound: str
    decode_bytes: int
    time_to_generate_s: float | None
    flops_per_s: float | None
    notes: tuple[Text, ...] = ()

    @property
    def tokens_per_s(self) -> float:
        """Tokens generated per second (the decode rate, all sequences of the batch)."""
        return self.decode_tokens_per_s

    @property
    def step_s(self) -> float:
        """Seconds of one decode step."""
        return self.decode_step_s

    @property
    def run_s(self) -> float | None:
        """Seconds to generate the tokens asked for (None without them)."""
        return self.time_to_generate_s


def _calibrated(
    card: Card, dtype: str, compute_eff: float, bw_eff: float, notes: list[Text]
) -> tuple[float, float]:
    """The efficiencies scaled by a saved ``gpuwise bench`` of ``card``, if there is one
    (:mod:`gpuwise.timing.calibration`); unchanged, with no note, if there is none."""
    from gpuwise.timing.calibration import calibration_for

    cal = calibration_for(card.slug)
    if cal is None:
        return compute_eff, bw_eff
    compute, bandwidth = cal.compute_factor(dtype), cal.bandwidth_factor()
    notes.append(cal.note(dtype))
    # a utilisation is a fraction of the peak: a bench that reads high cannot push it past 1
    return (
        min(1.0, compute_eff * (compute if compute is not None else 1.0)),
        min(1.0, bw_eff * (bandwidth if bandwidth is not None else 1.0)),
    )


def run_and_energy(
    card: Card, tokens: int | None, tokens_per_s: float, notes: list[Any], cards: int = 1
) -> tuple[float | None, float | None]:
    """Seconds to make ``tokens`` at ``tokens_per_s`` and the energy ``cards`` x ``card`` use
    meanwhile (said in ``notes``); (None, None) without ``tokens``."""
    if tokens is None:
        return None, None
    seconds = run_seconds(tokens, tokens_per_s)
    notes.append(_energy_note(card))
    return seconds, energy_kwh(card, seconds) * cards


def run_seconds(tokens: int, tokens_per_s: float) -> float:
    """Seconds a training run of ``tokens`` takes at ``tokens_per_s``."""
    return tokens / tokens_per_s


def energy_kwh(card: Card, seconds: float) -> float:
    """Energy at the card's TDP for ``seconds`` (board power only; host not counted)."""
    return card.tdp_w * seconds / JOULES_PER_KWH


def _energy_note(card: Card) -> Message:
    return Message("timing.note.energy", watts=f"{card.tdp_w:g}")


@functools.lru_cache(maxsize=256)
def trainable_params(spec: ModelSpec, workload: Workload) -> int:
    """Parameters the optimizer updates: the whole trained model, or the LoRA adapters."""
    return adapter_params(spec, workload) if workload.is_lora else spec.trained_params


@functools.lru_cache(maxsize=256)
def optimizer_bytes(spec: ModelSpec, workload: Workload) -> int:
    """Bytes one optimizer step reads and writes (see :data:`OPTIMIZER_ACCESSES`)."""
    # peft creates adapters in fp32; a full fine-tune keeps states in the model's dtype.
    elem = 4 if workload.is_lora else DTYPE_BYTES[workload.param_dtype]
    multiple, extra = OPTIMIZER_ACCESSES[workload.optimizer]
    return trainable_params(spec, workload) * (multiple * elem + extra)


def train_time(
    spec: ModelSpec,
    workload: Workload,
    card: Card,
    tokens: int | None = None,
    *,
    allow_tf32: bool = False,
) -> TrainTime:
    """Step time, tokens/s, time to train ``tokens`` and its energy for ``workload`` on ``card``."""
    flops = train_flops_per_token(spec, workload)
    rate = matmul_rate(card, workload.compute_dtype, allow_tf32=allow_tf32)
    notes: list[Text] = [rate.note] if rate.note else []
    compute_scale, bandwidth_scale = _bench_scales(card, workload.compute_dtype, notes)
    bw_eff = min(1.0, constants().e_bw * bandwidth_scale)
    optimizer_s = optimizer_bytes(spec, workload) / (card.bandwidth_gb_s * GB * bw_eff)
    if workload.grad_checkpointing:
        ratio = f"{flops.total / flops.model:.2f}"
        notes.append(Message("timing.note.recompute", ratio=ratio))
    if rate.flops_per_s is None:
        mfu = 0.0
        return TrainTime(None, None, None, None, mfu, flops, None, None, optimizer_s, tuple(notes))
    step = step_time(spec, workload, flops, card, rate.flops_per_s, compute_scale, bandwidth_scale)
    step_tokens = workload.batch * workload.seq
    compute_s = step.compute_s
    optimizer_s += step.optimizer_launch_s
    step_s = compute_s + optimizer_s + _offload_s(spec, workload, card, notes)
    tokens_per_s = step_tokens / step_s
    mfu = flops.total * step_tokens / (rate.flops_per_s * compute_s)
    notes.append(Message("timing.note.step", eff=f"{step.matmul_efficiency:.0%}", mfu=f"{mfu:.0%}"))
    if step.launch_bound:
        notes.append(
            Message(
                "timing.note.launch_bound",
                cpu=f"{1e3 * step.cpu_s:.1f}",
                gpu=f"{1e3 * step.gpu_s:.1f}",
            )
        )
    time_to_train_s, energy = run_and_energy(card, tokens, tokens_per_s, notes)
    return TrainTime(
        train_tokens_per_s=tokens_per_s,
        step_s=step_s,
        time_to_train_s=time_to_train_s,
        energy_kwh=energy,
        mfu=mfu,
        flops=flops,
        flops_per_s=rate.flops_per_s,
        compute_s=compute_s,
        optimizer_s=optimizer_s,
        notes=tuple(notes),
        step=step,
    )


def _offload_s(spec: ModelSpec, workload: Workload, card: Card, notes: list[Text]) -> float:
    """``--grad-checkpointing offload``: each layer's input goes to host RAM in the forward and
    comes back in the backward, over the card's PCIe link, on the compute stream
    (transformers' save_on_cpu; gpuwise/memory/data/tricks.json)."""
    if not (workload.grad_checkpointing and workload.ckpt_offload):
        return 0.0
    from gpuwise.timing.parallel import host_link_gb_s

    moved = (2 * spec.num_layers * workload.tokens * spec.hidden_size) * DTYPE_BYTES[
        workload.compute_dtype
    ]
    link = host_link_gb_s(card)
    seconds = moved / (link * GB)
    notes.append(
        Message(
            "tricks.note.offload_time",
            gib=f"{moved / 2**30:.2f}",
            rate=f"{link:.0f}",
            ms=f"{1e3 * seconds:.0f}",
        )
    )
    return seconds


def _bench_scales(card: Card, dtype: str, notes: list[Text]) -> tuple[float, float]:
    """How a saved ``gpuwise bench`` of ``card`` scales the compute and bandwidth efficiencies
    (:mod:`gpuwise.timing.calibration`; 1.0 and no note without one)."""
    from gpuwise.timing.calibration import calibration_for

    cal = calibration_for(card.slug)
    if cal is None:
        return 1.0, 1.0
    compute, bandwidth = cal.compute_factor(dtype), cal.bandwidth_factor()
    notes.append(cal.note(dtype))
    return (compute if compute is not None else 1.0), (bandwidth if bandwidth is not None else 1.0)


# -- inference ------------------------------------------------------------------------------


def _block_bytes(spec: ModelSpec, block: ParamBlock, dtype: str) -> int:
    # weights_bytes knows no fp8: its layout (1 byte per linear weight plus a per-row scale,
    # other tensors in 16 bits) is the int8 one, close enough for bandwidth.
    return stored_weights_bytes(spec, "int8" if dtype == "fp8" else dtype, (block,))


def decode_weight_bytes(
    spec: ModelSpec, dtype: str, batch: int, weights_bytes: int | None = None
) -> int:
    """Bytes of weights one decode step of ``batch`` tokens reads.

    Every weight but the embedding tables (a lookup reads ``batch`` rows; a tied LM head reads
    the whole table once, as the head). For expert tensors, ``min(E, batch·k)`` of E experts.
    When ``weights_bytes`` (the stored total, from the memory model) is given, the same share of
    it is returned, so the two models agree on the stored size.
    """
    k = spec.num_experts_per_tok
    tied = spec.tie_word_embeddings and not any(b.part == "lm_head" for b in spec.blocks)
    read = total = 0
    for b in spec.blocks:
        size = _block_bytes(spec, b, dtype)
        total += size
        if b.part == "position_embedding" or (b.part == "embedding" and not tied):
            continue
        if b.experts:
            size = size * min(b.experts, batch * k) // b.experts
        read += size
    if weights_bytes is None or total == 0:
        return read
    return round(weights_bytes * read / total)


def infer_time(
    spec: ModelSpec,
    workload: Workload,
    card: Card,
    *,
    weights_bytes: int | None = None,
    kv_bytes: int | None = None,
    tokens: int | None = None,
) -> InferTime:
    """Prefill and decode throughput of ``workload`` (``--task infer``) on ``card``.

    ``weights_bytes``: the stored weights (memory model), ``kv_bytes``: the KV cache of the batch
    at ``workload.seq`` tokens (memory model); both are estimated here when not given.
    ``tokens``: a number of tokens to generate, for the time and energy it takes.
    """
    eff = efficiency()
    rate = matmul_rate(card, workload.compute_dtype)
    notes: list[Text] = [rate.note] if rate.note else []
    prefill_eff = float(eff["prefill_efficiency"]["value"])
    weight_dtype = workload.stored_weight_dtype
    bw_eff = bandwidth_efficiency(weight_dtype)
    prefill_eff, bw_eff = _calibrated(card, workload.compute_dtype, prefill_eff, bw_eff, notes)
    bandwidth = card.bandwidth_gb_s * GB * bw_eff
    batch, seq = workload.batch, workload.seq

    weights_read = decode_weight_bytes(spec, weight_dtype, batch, weights_bytes)
    cache = kv_cache_bytes(spec, batch, seq, workload.cache_dtype) if kv_bytes is None else kv_bytes
    decode_bytes = weights_read + cache
    times = {
        "memory": decode_bytes / bandwidth,
        "overhead": spec.num_layers * float(eff["decode_overhead_s_per_layer"]["value"]),
    }
    prefill_tps = None
    if rate.flops_per_s is not None:
        compute = rate.flops_per_s * prefill_eff
        times["compute"] = batch * decode_flops(spec, seq) / compute
        prefill_s = max(batch * prefill_flops(spec, seq) / compute, weights_read / bandwidth)
        prefill_tps = batch * seq / prefill_s
    else:
        notes.append(Message("timing.note.decode_no_compute"))
    bound = max(times, key=lambda k: times[k])
    step_s = times[bound]
    decode_tps = batch / step_s
    gpu_bound_s = max(t for k, t in times.items() if k != "overhead")
    if bound == "overhead":
        notes.append(Message("timing.note.decode_overhead"))
    if spec.is_moe:
        hit = min(spec.num_experts, batch * spec.num_experts_per_tok)
        notes.append(Message("timing.note.moe_decode", hit=hit, experts=spec.num_experts))
    if weight_dtype == "fp8":
        notes.append(Message("timing.note.fp8_weights"))
    generate_s, energy = run_and_energy(card, tokens, decode_tps, notes)
    return InferTime(
        prefill_tokens_per_s=prefill_tps,
        decode_tokens_per_s=decode_tps,
        decode_tokens_per_s_gpu_bound=batch / gpu_bound_s,
        energy_kwh=energy,
        bandwidth_efficiency=bw_eff,
        prefill_efficiency=prefill_eff,
        decode_step_s=step_s,
        decode_bound=bound,
        decode_bytes=decode_bytes,
        time_to_generate_s=generate_s,
        flops_per_s=rate.flops_per_s,
        notes=tuple(notes),
    )
