"""How long one training micro-batch takes on a card, from the work of each layer.

The work is the reference step's FLOP count (:mod:`gpuwise.timing.flops`); this module says how
long it takes. A micro-batch of ``T = batch x seq`` tokens runs, on the GPU:

- **matmuls** (every weight of the layers and the LM head; forward, input gradient, weight
  gradient where trained, the recompute under checkpointing): each GEMM of ``M x K`` by
  ``K x N`` takes the longer of its FLOPs at ``peak x e_mm x fill`` and the bytes it reads and
  writes at ``bandwidth x e_bw`` (a roofline), where ``fill = M·N / (ceil(M/128)·ceil(N/128)·128²)``
  is the share of 128 x 128 output tiles holding real work (a LoRA ``A`` with rank 16 fills 1/8
  of its tiles), plus a fixed tail per GEMM (``gemm_tail_s``), so that small GEMMs run further
  below the peak than large ones. ``e_mm`` is calibrated per architecture on published rows.
  The shapes give an efficiency for the model's matmuls, which is applied to the FLOPs
  ``flops.py`` counts (MoE experts included, at ``M = T·k/E`` tokens each);
- **LoRA adapters** as GEMMs of their own shapes (rank ``r``): memory-bound on most cards;
- **attention** (SDPA's flash / memory-efficient kernels): its counted FLOPs at
  ``peak x e_mm x attention_factor``;
- **bandwidth-bound kernels** at ``bandwidth x e_bw``: norms, residual adds, the activation
  function, rotary embeddings and dropout (``elementwise`` hidden- and intermediate-sized vectors
  per token and layer), the loss over fp32 logits (``loss_bytes_per_logit``), QLoRA's NF4
  dequantization before every use of a frozen weight (``dequant_bytes_per_weight``);
- a fixed **GPU cost per kernel** (``kernel_gpu_s``: launch latency, ramp-up and tail).

Eager PyTorch launches these kernels from Python: each op costs ``op_cpu_s`` of CPU time, and
the GPU cannot run ahead of the CPU, so a micro-batch takes ``max(GPU time, CPU time)``: small
models at small batches are launch-bound. The optimizer step is memory-bound (its bytes at
``bandwidth x e_bw``) plus its own launches. Every constant is in ``data/step_model.json`` with
its source, or its fit on published rows (``scripts/published_comparison.py --fit``).
"""

from __future__ import annotations

import functools
import math

from gpuwise.catalog.card import Card
from gpuwise.models.lora import lora_linears
from gpuwise.models.spec import ModelSpec
from gpuwise.packaged import packaged_json
from gpuwise.record import record
from gpuwise.timing.flops import TrainFlops
from gpuwise.workload import Workload

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

TILE = 128
_TABLE_PARTS = ("embedding", "position_embedding")


@functools.lru_cache(maxsize=1)
def step_data() -> dict[str, Any]:
    """The step model's constants with their sources (``data/step_model.json``)."""
    data: dict[str, Any] = packaged_json("gpuwise.timing", "data/step_model.json")
    return data


@record
class Constants:
    """The step model's constants (see the module's docstring and ``data/step_model.json``)."""

    e_mm: tuple[tuple[str, float], ...]  # architecture -> fraction of the dense peak
    e_mm_default: float
    e_bw: float
    gemm_tail_s: float
    attention_factor: float
    kernel_gpu_s: float
    op_cpu_s: float
    elementwise_hidden: float
    elementwise_intermediate: float
    loss_bytes_per_logit: float
    dequant_bytes_per_weight: float
    ops_per_layer: float
    ops_per_adapter: float
    ops_per_quantized_linear: float
    optimizer_ops_per_tensor: float

    def matmul_efficiency(self, architecture: str) -> float:
        return dict(self.e_mm).get(architecture, self.e_mm_default)


#: Constants that replace the data file's while the calibration fit tries them (see
#: :func:`trying`); empty otherwise.
_TRYING: list[Constants] = []


def constants() -> Constants:
    """The constants as the data file has them (or as the calibration fit is trying them)."""
    return _TRYING[-1] if _TRYING else _from_data()


class trying:
    """Time with the constants ``c`` inside the ``with`` block (the calibration fit)."""

    def __init__(self, c: Constants) -> None:
        self.c = c

    def __enter__(self) -> Constants:
        _TRYING.append(self.c)
        return self.c

    def __exit__(self, *_: object) -> None:
        _TRYING.pop()


@functools.lru_cache(maxsize=1)
def _from_data() -> Constants:
    d = step_data()

    def v(key: str) -> float:
        return float(d[key]["value"])

    by_arch = d["matmul_efficiency"]["by_architecture"]
    return Constants(
        e_mm=tuple((arch, float(x["value"])) for arch, x in by_arch.items()),
        e_mm_default=float(d["matmul_efficiency"]["value"]),
        e_bw=v("bandwidth_efficiency"),
        gemm_tail_s=v("gemm_tail_s"),
        attention_factor=v("attention_factor"),
        kernel_gpu_s=v("kernel_gpu_s"),
        op_cpu_s=v("op_cpu_s"),
        elementwise_hidden=float(d["elementwise_vectors"]["value"]["hidden"]),
        elementwise_intermediate=float(d["elementwise_vectors"]["value"]["intermediate"]),
        loss_bytes_per_logit=v("loss_bytes_per_logit"),
        dequant_bytes_per_weight=v("dequant_bytes_per_weight"),
        ops_per_layer=v("ops_per_layer"),
        ops_per_adapter=v("ops_per_adapter"),
        ops_per_quantized_linear=v("ops_per_quantized_linear"),
        optimizer_ops_per_tensor=v("optimizer_ops_per_tensor"),
    )


@record
class Gemm:
    """``count`` GEMMs of ``(m x k) @ (k x n)`` per micro-batch, elements of ``elem`` bytes."""

    m: int
    k: int
    n: int
    count: float
    elem: int

    @property
    def flops(self) -> float:
        return 2.0 * self.m * self.k * self.n * self.count

    @property
    def bytes(self) -> float:
        return float(self.elem * (self.m * self.k + self.k * self.n + self.m * self.n) * self.count)

    @property
    def fill(self) -> float:
        tiles = math.ceil(self.m / TILE) * math.ceil(self.n / TILE) * TILE * TILE
        return self.m * self.n / tiles


@record
class Work:
    """What one micro-batch of a workload does, whatever the card: the model's GEMMs (one
    forward of each matmul weight), the passes over them, the adapters' GEMMs, bytes of the
    bandwidth-bound kernels, ops launched, and the optimizer's tensors."""

    body: tuple[Gemm, ...]
    adapters: tuple[Gemm, ...]
    memory_bytes: float
    ops: float
    optimizer_ops: float

    @functools.cached_property
    def body_terms(self) -> tuple[float, tuple[tuple[float, float], ...], float]:
        """The body's FLOPs, each GEMM's (FLOPs / tile fill, bytes), and its GEMM count: what
        :func:`step_time` needs of them, worked out once (a search times thousands of cards)."""
        return _terms(self.body)

    @functools.cached_property
    def adapter_terms(self) -> tuple[float, tuple[tuple[float, float], ...], float]:
        """As :attr:`body_terms`, for the adapters' GEMMs."""
        return _terms(self.adapters)


def _terms(gemms: tuple[Gemm, ...]) -> tuple[float, tuple[tuple[float, float], ...], float]:
    return (
        sum(g.flops for g in gemms),
        tuple((g.flops / g.fill, g.bytes) for g in gemms),
        sum(g.count for g in gemms),
    )


def _roofline_s(
    terms: tuple[float, tuple[tuple[float, float], ...], float],
    rate: float,
    bandwidth: float,
    tail_s: float,
) -> float:
    """Seconds of GEMMs given by their terms at ``rate`` (peak x efficiency) and
    ``bandwidth``: each the longer of its filled FLOPs and its bytes, plus each GEMM's tail (the
    last wave of tiles runs on part of the card, and the first ramps up)."""
    _, pairs, count = terms
    return sum(max(f / rate, b / bandwidth) for f, b in pairs) + tail_s * count


def _elem(w: Workload) -> int:
    """Bytes of an activation element: 2 in pure 16-bit, 4 where fp32 flows (fp32, amp)."""
    return 2 if w.precision in ("bf16", "fp16") else 4


@functools.lru_cache(maxsize=256)
def work(spec: ModelSpec, w: Workload, c: Constants) -> Work:
    """The card-free account of a micro-batch of ``w`` (cached: a search over cards reuses it)."""
    tokens = w.batch * w.seq
    elem = _elem(w)
    k = spec.num_experts_per_tok
    body: list[Gemm] = []
    quantized_weights = 0.0
    for b in spec.train_blocks:
        if len(b.shape) < 2 or b.part in _TABLE_PARTS:
            continue
        m = tokens
        count = float(b.count)
        if b.experts:
            m = max(1, tokens * min(k, b.experts) // b.experts)
            count *= b.experts
        body.append(Gemm(m, b.in_features, b.out_features, count, elem))
        if w.method == "qlora" and b.linear and not b.experts and b.part != "lm_head":
            quantized_weights += b.weight_numel * b.count
    if not any(b.part == "lm_head" for b in spec.train_blocks) and (
        spec.tie_word_embeddings or spec.kind == "encoder"
    ):  # the tied head: the embedding table used as a matmul
        body.append(Gemm(tokens, spec.hidden_size, spec.vocab_size, 1.0, elem))
    adapters: list[Gemm] = []
    adapted = 0.0
    if w.is_lora:
        r = w.lora_rank
        for b in lora_linears(spec, w.lora_targets):
            # A: (T x in) @ (in x r); B: (T x r) @ (r x out); adapters run in fp32 under peft
            adapters.append(Gemm(tokens, b.in_features, r, float(b.count), 4))
            adapters.append(Gemm(tokens, r, b.out_features, float(b.count), 4))
            adapted += b.count
    recompute = 1.0 if w.grad_checkpointing else 0.0
    # forward passes of the layers: forward, backward (about twice the forward's kernels and
    # bytes), the recompute
    passes = 1.0 + 2.0 + recompute
    per_token_layer = (
        c.elementwise_hidden * spec.hidden_size
        + c.elementwise_intermediate * spec.intermediate_size
    ) * elem
    memory = tokens * spec.num_layers * per_token_layer * passes
    memory += tokens * spec.vocab_size * c.loss_bytes_per_logit
    # dequantized before the forward, the input gradient and the recompute
    memory += quantized_weights * c.dequant_bytes_per_weight * (2.0 + recompute)
    quantized_linears = sum(
        b.count for b in spec.train_blocks if w.method == "qlora" and b.linear and not b.experts
    )
    ops_forward = (
        spec.num_layers * c.ops_per_layer
        + adapted * c.ops_per_adapter
        + quantized_linears * c.ops_per_quantized_linear
    )
    ops = ops_forward * passes
    optimizer_tensors = 2.0 * adapted if w.is_lora else float(sum(b.count for b in spec.blocks))
    return Work(
        tuple(body),
        tuple(adapters),
        memory,
        ops,
        optimizer_tensors * c.optimizer_ops_per_tensor,
    )


@record
class StepTime:
    """A micro-batch's time on a card and its parts (seconds): ``compute_s`` is the forward and
    backward (``max(gpu_s, cpu_s)``), ``matmul_efficiency`` the fraction of the peak the model's
    matmuls reach at these shapes, ``launch_bound`` whether the CPU's launches set the pace."""

    compute_s: float
    gpu_s: float
    cpu_s: float
    matmul_s: float
    attention_s: float
    adapter_s: float
    memory_s: float
    kernels_s: float
    optimizer_launch_s: float
    matmul_efficiency: float
    launch_bound: bool


def step_time(
    spec: ModelSpec,
    w: Workload,
    flops: TrainFlops,
    card: Card,
    peak: float,
    compute_scale: float = 1.0,
    bandwidth_scale: float = 1.0,
    c: Constants | None = None,
) -> StepTime:
    """Forward and backward of one micro-batch of ``w`` on ``card`` at a dense ``peak`` (FLOP/s);
    ``compute_scale`` and ``bandwidth_scale`` carry a ``gpuwise bench`` calibration."""
    c = c or constants()
    wk = work(spec, w, c)
    tokens = w.batch * w.seq
    e_mm = min(1.0, c.matmul_efficiency(card.architecture) * compute_scale)
    bandwidth = card.bandwidth_gb_s * 1e9 * min(1.0, c.e_bw * bandwidth_scale)
    fwd_flops = wk.body_terms[0]
    fwd_s = _roofline_s(wk.body_terms, peak * e_mm, bandwidth, c.gemm_tail_s)
    # the matmuls' own efficiency at these shapes, applied to every matmul FLOP counted
    eff = fwd_flops / (peak * fwd_s) if fwd_s > 0 else e_mm
    base_share, attention_share = _recompute_shares(flops, w)
    body_flops = flops.matmul + flops.recompute * base_share
    matmul_s = body_flops * tokens / (peak * eff)
    attention_flops = flops.attention + flops.recompute * attention_share
    attention_s = attention_flops * tokens / (peak * e_mm * c.attention_factor)
    # peft casts the input to the adapters' fp32: they run at the FP32 rate
    fp32 = card.fp32_tflops * 1e12
    adapter_pass_s = _roofline_s(wk.adapter_terms, fp32 * e_mm, bandwidth, c.gemm_tail_s)
    # forward, input gradient, weight gradient; again forward under checkpointing
    adapter_s = adapter_pass_s * (3.0 + (1.0 if w.grad_checkpointing else 0.0))
    memory_s = wk.memory_bytes / bandwidth
    kernels_s = wk.ops * c.kernel_gpu_s
    gpu_s = matmul_s + attention_s + adapter_s + memory_s + kernels_s
    cpu_s = wk.ops * c.op_cpu_s
    return StepTime(
        compute_s=max(gpu_s, cpu_s),
        gpu_s=gpu_s,
        cpu_s=cpu_s,
        matmul_s=matmul_s,
        attention_s=attention_s,
        adapter_s=adapter_s,
        memory_s=memory_s,
        kernels_s=kernels_s,
        optimizer_launch_s=wk.optimizer_ops * max(c.op_cpu_s, c.kernel_gpu_s),
        matmul_efficiency=eff,
        launch_bound=cpu_s > gpu_s,
    )


def _recompute_shares(flops: TrainFlops, w: Workload) -> tuple[float, float]:
    """Shares of the recompute's FLOPs that are base weight matmuls and attention (the rest,
    the adapters', is timed with the adapters)."""
    if not flops.recompute:
        return 0.0, 0.0
    # one forward of the layers, in the forward's proportions: base matmuls are 1/2 (LoRA) or
    # 1/3 (full) of flops.matmul, attention and adapters 1/3 of theirs
    base = flops.matmul / (2.0 if w.is_lora else 3.0)
    attention = flops.attention / 3.0
    total = base + attention + flops.adapters / 3.0
    return base / total, attention / total
