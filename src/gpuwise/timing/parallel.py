"""Time of a multi-card training step: compute per card, the collectives, offload traffic.

Every card runs a micro-batch as one card does (:func:`gpuwise.timing.estimate.train_time`).
Per micro-batch each card also moves, in a ring collective over ``g`` cards, ``(g-1)/g`` of:

- ``ddp``: an all-reduce of the gradients, twice their bytes, once per optimizer step
  (accumulation runs under ``no_sync``);
- ``fsdp``: an all-gather of the weights in the forward and again in the backward (16-bit under
  mixed precision) and a reduce-scatter of the gradients (fp32 under amp); hybrid shard adds an
  all-reduce of each shard's gradients across the replicas;
- ZeRO-1/2: a reduce-scatter of the 16-bit gradients per micro-batch and, inside the optimizer
  step, an all-gather of the updated trainable weights; ZeRO-3: the all-gathers of FSDP and the
  reduce-scatter.

Gathers move the weights as the step holds them (QLoRA: the 4-bit base) plus the adapters.

Offload adds host traffic over each card's PCIe link (gradients down, updated weights up; ZeRO-3
offload fetches its weights for the forward and the backward) and the CPU's optimizer step.
Collectives hide behind compute up to the ``overlap`` fractions; what does not hide adds to the
step. All rates and fractions are in ``data/interconnect.json``, each with its source.
"""

from __future__ import annotations

import functools

from gpuwise.catalog.card import Card
from gpuwise.memory.train import base_weight_bytes
from gpuwise.models.spec import ModelSpec
from gpuwise.packaged import packaged_json
from gpuwise.parallel import Parallel
from gpuwise.record import field, record
from gpuwise.timing.estimate import TrainTime, energy_kwh, train_time, trainable_params
from gpuwise.timing.flops import adapter_params
from gpuwise.units import DTYPE_BYTES
from gpuwise.workload import Workload

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

GB = 1e9


@functools.lru_cache(maxsize=1)
def interconnect() -> dict[str, Any]:
    data: dict[str, Any] = packaged_json("gpuwise.timing", "data/interconnect.json")
    return data


def _v(key: str) -> Any:
    return interconnect()[key]["value"]


@record
class Link:
    """The bus bandwidth a ring collective reaches between ``gpus`` cards, and why."""

    gb_s: float
    kind: str  # "nvlink", "pcie-p2p", "pcie-host"
    note: str


@functools.lru_cache(maxsize=1024)
def card_link(card: Card, gpus: int) -> Link:
    """The link collectives between ``gpus`` cards of this model use."""
    lanes = card.pcie_lanes or 16
    gen = str(card.pcie_gen or 3)
    per_lane = _v("pcie_gb_s_per_lane").get(gen, _v("pcie_gb_s_per_lane")["3"])
    pcie = per_lane * lanes * _v("nccl_pcie_efficiency")
    all_to_all = any(tag in card.slug for tag in _v("nvlink_all_to_all"))
    if card.nvlink_gb_s and (all_to_all or gpus <= 2):
        rate = card.nvlink_gb_s / 2 * _v("nvlink_efficiency")
        bridge = "" if all_to_all else " (an NVLink bridge between the two cards)"
        return Link(rate, "nvlink", f"NVLink{bridge}, {rate:.0f} GB/s per direction assumed")
    if card.segment == "datacenter":
        return Link(pcie, "pcie-p2p", f"PCIe {gen}.0 x{lanes} peer-to-peer, {pcie:.0f} GB/s")
    rate = pcie * _v("no_p2p_factor")
    why = (
        "through host memory (GeForce: no PCIe peer-to-peer"
        + ("; NVLink bridges join two cards only" if card.nvlink_gb_s else "")
        + ")"
    )
    return Link(rate, "pcie-host", f"PCIe {gen}.0 x{lanes} {why}, {rate:.0f} GB/s assumed")


@functools.lru_cache(maxsize=1024)
def host_link_gb_s(card: Card) -> float:
    per_lane = _v("pcie_gb_s_per_lane").get(str(card.pcie_gen or 3), 0.985)
    return float(per_lane * (card.pcie_lanes or 16) * _v("host_link_efficiency"))


@record
class ParallelTime:
    """Time of one optimizer step of ``p`` on ``card`` and what it is made of (seconds)."""

    train_tokens_per_s: float | None
    step_s: float | None
    compute_s: float | None
    comm_s: float
    exposed_comm_s: float
    offload_s: float
    time_to_train_s: float | None
    energy_kwh: float | None
    mfu: float
    link: Link
    notes: tuple[str, ...] = field(default=())

    @property
    def tokens_per_s(self) -> float | None:
        """Tokens trained per second, all cards together."""
        return self.train_tokens_per_s

    @property
    def run_s(self) -> float | None:
        """Seconds to train the tokens asked for (None without them)."""
        return self.time_to_train_s


@record
class Comm:
    """Bytes each card moves over the card-to-card link per micro-batch: parameter all-gathers
    (``gather``) and gradient reductions (``reduce``) within its shard group, the gradient
    all-reduce across a hybrid shard's groups (``across``), all averaged over ``grad_accum``
    where they run once per optimizer step; and ``after_step``, per optimizer step, the
    all-gather of the updated weights ZeRO-1/2 run inside the step, after the backward, with
    nothing to hide behind."""

    gather: float = 0.0
    reduce: float = 0.0
    across: float = 0.0
    after_step: float = 0.0


@functools.lru_cache(maxsize=256)
def _gathered_bytes(spec: ModelSpec, w: Workload) -> float:
    """Bytes of the weights an all-gather moves: as the step holds them in the compute dtype
    (QLoRA: the 4-bit base), plus the adapters."""
    if w.method == "qlora":
        return float(base_weight_bytes(spec, w)) + adapter_params(spec, w) * 2
    elem = DTYPE_BYTES[w.compute_dtype]
    adapters = adapter_params(spec, w) if w.is_lora else 0
    return float((spec.trained_params + adapters) * elem)


@functools.lru_cache(maxsize=256)
def _grad_bytes(spec: ModelSpec, w: Workload, p: Parallel) -> float:
    """Bytes of the gradients a reduction moves (fp32 under amp in PyTorch; DeepSpeed reduces
    in the model's dtype)."""
    elem = DTYPE_BYTES[w.compute_dtype]
    if w.amp and p.engine == "torch":
        elem = 4
    return float(trainable_params(spec, w) * elem)


@functools.lru_cache(maxsize=256)
def comm_bytes(spec: ModelSpec, w: Workload, p: Parallel) -> Comm:
    """What each card moves (see :class:`Comm`), ring collectives over ``g`` cards moving
    ``(g-1)/g`` of the data (all-reduce: twice that)."""
    g = p.shard_group
    ring = (g - 1) / g if g > 1 else 0.0
    grads = _grad_bytes(spec, w, p)
    if p.strategy == "ddp":
        n = p.gpus
        return Comm(reduce=2 * (n - 1) / n * grads / p.grad_accum)
    if p.engine == "torch":  # fsdp, fsdp-hybrid, fsdp-offload
        across = 0.0
        if p.strategy == "fsdp-hybrid":
            r = p.gpus // g
            across = 2 * (r - 1) / r * grads / g
        return Comm(2 * ring * _gathered_bytes(spec, w), ring * grads, across)
    n = p.gpus
    ring = (n - 1) / n
    if p.zero_stage == 3:
        return Comm(2 * ring * _gathered_bytes(spec, w), ring * grads)
    # ZeRO-1/2: every card holds all weights; the updated trainable ones are all-gathered
    elem = DTYPE_BYTES[w.compute_dtype]
    return Comm(reduce=ring * grads, after_step=ring * trainable_params(spec, w) * elem)


def parallel_train_time(
    spec: ModelSpec,
    w: Workload,
    card: Card,
    p: Parallel,
    tokens: int | None = None,
    single: TrainTime | None = None,
) -> ParallelTime:
    """Step time and throughput of ``p`` (``w.batch`` per card) on ``gpus`` x ``card``.

    The link is one resource: collectives hide behind compute up to the ``overlap`` fractions
    (gathers, prefetched, behind the forward and backward; reductions behind the backward),
    and never behind more than the step's compute in all, so a step takes at least as long as
    its traffic. ``single``: the card's time for one micro-batch (``train_time(spec, w, card)``),
    when the caller has it already (a search over strategies on the same card).
    """
    if single is None:
        single = train_time(spec, w, card)
    many = p.gpus > 1
    link = card_link(card, p.gpus)
    # a hybrid shard group can sit on a faster link (NVLink pairs) than the whole machine
    group = card_link(card, p.shard_group) if p.strategy == "fsdp-hybrid" else link
    notes = list(single.notes)
    g_s = r_s = after_s = 0.0
    if many:
        c = comm_bytes(spec, w, p)
        g_s = c.gather / (group.gb_s * GB)
        r_s = c.reduce / (group.gb_s * GB) + c.across / (link.gb_s * GB)
        after_s = c.after_step / (link.gb_s * GB)
    offload_s = fetch_s = 0.0
    offloads_optimizer = p.offloads("optimizer")
    if offloads_optimizer or p.offloads("weights"):
        host = host_link_gb_s(card) * GB
        if offloads_optimizer:
            # gradients down and updated weights up, each card its 1/N share, per optimizer
            # step; the host's CPU steps every trainable parameter
            trainable = trainable_params(spec, w)
            per_card = 2 * _grad_bytes(spec, w, p) / p.gpus
            deepspeed = p.engine == "deepspeed"
            rate = float(
                _v("cpu_adam_params_per_s" if deepspeed else "torch_cpu_adam_params_per_s")
            )
            offload_s = per_card / host + trainable / rate
            who = "DeepSpeed CPU Adam" if deepspeed else "torch AdamW on the CPU"
            notes.append(
                f"optimizer on the CPU: {trainable / 1e9:.2f} B parameters at an assumed "
                f"{rate / 1e9:g} B/s ({who})"
            )
        if p.offloads("weights"):  # forward and backward, per micro-batch
            fetch_s = 2 * _gathered_bytes(spec, w) / p.gpus / host
    comm_s = g_s + r_s + fetch_s + after_s
    if single.compute_s is None or single.step_s is None:
        return ParallelTime(
            None, None, None, comm_s, comm_s, offload_s, None, None, single.mfu, link, tuple(notes)
        )
    hide_gather_fraction, hide_reduce_fraction = _overlap()
    compute = single.compute_s
    hide_gather = compute * hide_gather_fraction
    hide_reduce = compute * hide_reduce_fraction
    apart = max(0.0, g_s + fetch_s - hide_gather) + max(0.0, r_s - hide_reduce)
    together = max(0.0, g_s + fetch_s + r_s - hide_gather)
    exposed = max(apart, together)
    micro = compute + exposed
    optimizer_s = 0.0 if offloads_optimizer else single.optimizer_s / _state_split(p)
    step_s = p.grad_accum * micro + optimizer_s + offload_s + after_s
    step_tokens = w.batch * w.seq * p.gpus * p.grad_accum
    tps = step_tokens / step_s
    if many:
        notes.append(f"collectives: {link.note}")
        if group is not link:
            notes.append(f"within each shard group of {p.shard_group}: {group.note}")
    time_to_train = energy = None
    if tokens is not None:
        time_to_train = tokens / tps
        energy = energy_kwh(card, time_to_train) * p.gpus
    return ParallelTime(
        train_tokens_per_s=tps,
        step_s=step_s,
        compute_s=compute,
        comm_s=comm_s,
        exposed_comm_s=exposed * p.grad_accum + after_s,
        offload_s=offload_s,
        time_to_train_s=time_to_train,
        energy_kwh=energy,
        mfu=single.mfu,
        link=link,
        notes=tuple(notes),
    )


@functools.lru_cache(maxsize=1)
def _overlap() -> tuple[float, float]:
    """Fractions of the compute that parameter gathers and gradient reductions hide behind."""
    overlap = _v("overlap")
    return float(overlap["parameters"]), float(overlap["gradients"])


def _state_split(p: Parallel) -> int:
    """How many ways the optimizer step's work is split (sharded states step their shard)."""
    return p.shard_group if p.shards("optimizer") else 1
