"""Time of a multi-card training step: compute per card, the collectives, offload traffic.

Every card runs a micro-batch as one card does (:func:`gpuwise.timing.estimate.train_time`).
Per micro-batch each card also moves, in a ring collective over ``g`` cards, ``(g-1)/g`` of:

- ``ddp``: an all-reduce of the gradients, twice their bytes, once per optimizer step
  (accumulation runs under ``no_sync``);
- ``fsdp``: an all-gather of the weights in the forward and again in the backward (16-bit under
  mixed precision) and a reduce-scatter of the gradients (fp32 under amp); hybrid shard adds an
  all-reduce of each shard's gradients across the replicas;
- ZeRO-1/2: a reduce-scatter of the 16-bit gradients per micro-batch and an all-gather of the
  updated 16-bit weights per step; ZeRO-3: the all-gathers of FSDP and the reduce-scatter.

Offload adds host traffic over each card's PCIe link (gradients down, updated weights up; ZeRO-3
offload fetches its weights for the forward and the backward) and the CPU's optimizer step.
Collectives hide behind compute up to the ``overlap`` fractions; what does not hide adds to the
step. All rates and fractions are in ``data/interconnect.json``, each with its source.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass, field
from typing import Any

from gpuwise.catalog.card import Card
from gpuwise.memory.train import BYTES
from gpuwise.models.spec import ModelSpec
from gpuwise.packaged import packaged_json
from gpuwise.parallel import Parallel
from gpuwise.timing.estimate import energy_kwh, train_time, trainable_params
from gpuwise.workload import Workload

GB = 1e9


@functools.lru_cache(maxsize=1)
def interconnect() -> dict[str, Any]:
    data: dict[str, Any] = packaged_json("gpuwise.timing", "data/interconnect.json")
    return data


def _v(key: str) -> Any:
    return interconnect()[key]["value"]


@dataclass(frozen=True)
class Link:
    """The bus bandwidth a ring collective reaches between ``gpus`` cards, and why."""

    gb_s: float
    kind: str  # "nvlink", "pcie-p2p", "pcie-host"
    note: str


def card_link(card: Card, gpus: int) -> Link:
    """The link collectives between ``gpus`` cards of this model use."""
    lanes = card.pcie_lanes or 16
    gen = str(card.pcie_gen or 3)
    per_lane = _v("pcie_gb_s_per_lane").get(gen, _v("pcie_gb_s_per_lane")["3"])
    pcie = per_lane * lanes * _v("nccl_pcie_efficiency")
    all_to_all = any(tag in card.slug for tag in _v("nvlink_all_to_all"))
    if card.nvlink_gb_s and (all_to_all or gpus <= 2):
        rate = card.nvlink_gb_s / 2 * _v("nvlink_efficiency")
        return Link(rate, "nvlink", f"NVLink, {rate:.0f} GB/s per direction assumed")
    if card.segment == "datacenter":
        return Link(pcie, "pcie-p2p", f"PCIe {gen}.0 x{lanes} peer-to-peer, {pcie:.0f} GB/s")
    rate = pcie * _v("no_p2p_factor")
    why = (
        "through host memory (GeForce: no PCIe peer-to-peer"
        + ("; NVLink bridges join two cards only" if card.nvlink_gb_s else "")
        + ")"
    )
    return Link(rate, "pcie-host", f"PCIe {gen}.0 x{lanes} {why}, {rate:.0f} GB/s assumed")


def host_link_gb_s(card: Card) -> float:
    per_lane = _v("pcie_gb_s_per_lane").get(str(card.pcie_gen or 3), 0.985)
    return float(per_lane * (card.pcie_lanes or 16) * _v("host_link_efficiency"))


@dataclass(frozen=True)
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

    def to_dict(self) -> dict[str, object]:
        return {
            "train_tokens_per_s": self.train_tokens_per_s,
            "step_s": self.step_s,
            "compute_s": self.compute_s,
            "comm_s": self.comm_s,
            "exposed_comm_s": self.exposed_comm_s,
            "offload_s": self.offload_s,
            "time_to_train_s": self.time_to_train_s,
            "energy_kwh": self.energy_kwh,
            "mfu": self.mfu,
            "link": {"kind": self.link.kind, "gb_s": self.link.gb_s, "note": self.link.note},
            "notes": list(self.notes),
        }


def _model_bytes(spec: ModelSpec, w: Workload) -> tuple[int, int, int]:
    """(16-bit weights all-gathered, gradient bytes reduced, trainable parameters)."""
    trainable = trainable_params(spec, w)
    elem = BYTES[w.compute_dtype] if w.precision != "fp32" else 4
    weights = spec.trained_params * elem
    return weights, trainable * elem, trainable


def comm_bytes(spec: ModelSpec, w: Workload, p: Parallel) -> tuple[float, float, float]:
    """Bytes each card moves per micro-batch: (parameter gathers and gradient reductions within
    its shard group, gradient all-reduce across the groups of a hybrid shard), reductions
    averaged per micro-batch over ``grad_accum`` where they run once per step."""
    g = p.shard_group
    ring = (g - 1) / g if g > 1 else 0.0
    weights, grads, _ = _model_bytes(spec, w)
    if w.amp and p.engine == "torch":
        grads *= 2  # fp32 gradients reduced under amp
    if p.strategy == "ddp":
        n = p.gpus
        return 0.0, 2 * (n - 1) / n * grads / p.grad_accum, 0.0
    if p.engine == "torch":  # fsdp, fsdp-hybrid, fsdp-offload
        across = 0.0
        if p.strategy == "fsdp-hybrid":
            r = p.gpus // g
            across = 2 * (r - 1) / r * grads / g
        return 2 * ring * weights, ring * grads, across
    n = p.gpus
    ring = (n - 1) / n
    if p.zero_stage == 3:
        return 2 * ring * weights, ring * grads, 0.0
    return ring * weights / p.grad_accum, ring * grads, 0.0


def parallel_train_time(
    spec: ModelSpec, w: Workload, card: Card, p: Parallel, tokens: int | None = None
) -> ParallelTime:
    """Step time and throughput of ``p`` (``w.batch`` per card) on ``gpus`` x ``card``."""
    single = train_time(spec, w, card)
    link = card_link(card, p.gpus)
    # a hybrid shard group can sit on a faster link (NVLink pairs) than the whole machine
    group = card_link(card, p.shard_group) if p.strategy == "fsdp-hybrid" else link
    notes = list(single.notes)
    gather, reduce, across = comm_bytes(spec, w, p)
    g_s = gather / (group.gb_s * GB) if p.gpus > 1 else 0.0
    r_s = reduce / (group.gb_s * GB) + across / (link.gb_s * GB) if p.gpus > 1 else 0.0
    comm_s = g_s + r_s
    _, grads, trainable = _model_bytes(spec, w)
    weights16 = _model_bytes(spec, w)[0]
    host = host_link_gb_s(card) * GB
    offload_s = 0.0
    if p.offloads("optimizer"):
        # gradients down and updated weights up, each card its 1/N share, per optimizer step;
        # the host's CPU Adam steps every trainable parameter
        per_card = 2 * grads / p.gpus
        offload_s = per_card / host + trainable / float(_v("cpu_adam_params_per_s"))
        notes.append(
            f"optimizer on the CPU: {trainable / 1e9:.2f} B parameters at an assumed "
            f"{float(_v('cpu_adam_params_per_s')) / 1e9:g} B/s (DeepSpeed CPU Adam)"
        )
    fetch_s = 0.0
    if p.offloads("weights"):
        fetch_s = 2 * weights16 / p.gpus / host  # forward and backward, per micro-batch
    if single.compute_s is None or single.step_s is None:
        return ParallelTime(
            None, None, None, comm_s, comm_s, offload_s, None, None, single.mfu, link, tuple(notes)
        )
    overlap = _v("overlap")
    hide_reduce = single.compute_s * float(overlap["gradients"])
    hide_gather = single.compute_s * float(overlap["parameters"])
    exposed = max(0.0, g_s + fetch_s - hide_gather) + max(0.0, r_s - hide_reduce)
    micro = single.compute_s + exposed
    optimizer_s = 0.0 if p.offloads("optimizer") else single.optimizer_s / _state_split(p)
    step_s = p.grad_accum * micro + optimizer_s + offload_s
    step_tokens = w.batch * w.seq * p.global_batch_factor
    tps = step_tokens / step_s
    if p.gpus > 1:
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
        compute_s=single.compute_s,
        comm_s=comm_s + fetch_s,
        exposed_comm_s=exposed,
        offload_s=offload_s,
        time_to_train_s=time_to_train,
        energy_kwh=energy,
        mfu=single.mfu,
        link=link,
        notes=tuple(notes),
    )


def _state_split(p: Parallel) -> int:
    """How many ways the optimizer step's work is split (sharded states step their shard)."""
    return p.shard_group if p.shards("optimizer") else 1
