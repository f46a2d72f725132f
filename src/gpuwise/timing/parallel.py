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
DeepSpeed prefetches offloaded weights only a bucket ahead (``stage3_prefetch_bucket_size``,
0.9 x hidden² under the HF Trainer): that share of a layer's fetch hides behind compute, the
rest is waited on, so ZeRO-3 offload pays for most of the weights' trip every micro-batch.
Collectives hide behind compute up to the ``overlap`` fractions; what does not hide adds to the
step. All rates and fractions are in ``data/interconnect.json``, each with its source.
"""

from __future__ import annotations

import functools

from gpuwise.catalog.card import Card
from gpuwise.i18n import Message
from gpuwise.memory.train import base_weight_bytes
from gpuwise.models.spec import ModelSpec
from gpuwise.packaged import packaged_json
from gpuwise.parallel import Parallel
from gpuwise.record import field, record
from gpuwise.timing.estimate import (
    Training,
    TrainTime,
    run_and_energy,
    scaled_tokens_per_s,
    train_time,
    trainable_params,
)
from gpuwise.timing.flops import adapter_params
from gpuwise.units import DTYPE_BYTES
from gpuwise.workload import Workload

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

    from gpuwise.i18n import Text

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
    note: Message


#: Segments whose drivers allow PCIe peer-to-peer between cards (GeForce and TITAN do not).
_P2P_SEGMENTS = ("datacenter", "workstation")


def link_key(card: Card) -> tuple[Any, ...]:
    """What of a card its links (to its peers and to the host) are worked out from: cards with
    the same key move data alike."""
    return (
        card.pcie_lanes,
        card.pcie_gen,
        card.nvlink_gb_s,
        _all_to_all(card),
        card.segment in _P2P_SEGMENTS,
    )


def _all_to_all(card: Card) -> bool:
    """Whether the card's NVLink joins every card of a machine (SXM boards), not two."""
    return _all_to_all_slug(card.slug)


@functools.lru_cache(maxsize=65536)
def _all_to_all_slug(slug: str) -> bool:
    # by slug, once: a search asks for every card's links once per count and strategy
    return any(tag in slug for tag in _v("nvlink_all_to_all"))


def card_link(card: Card, gpus: int) -> Link:
    """The link collectives between ``gpus`` cards of this model use."""
    return _key_link(link_key(card), gpus)


def _key_link(key: tuple[Any, ...], gpus: int) -> Link:
    """The link between ``gpus`` cards whose :func:`link_key` is ``key``."""
    lanes, gen, nvlink_gb_s, all_to_all, p2p = key
    bridged = bool(nvlink_gb_s) and (all_to_all or gpus <= 2)
    return _link(
        lanes or 16,
        gen or 3,
        nvlink_gb_s if bridged else None,
        all_to_all,
        p2p,
        bool(nvlink_gb_s),
    )


@functools.lru_cache(maxsize=256)
def _link(
    lanes: int,
    gen: int,
    nvlink_gb_s: float | None,
    all_to_all: bool,
    p2p: bool,
    has_nvlink: bool,
) -> Link:
    """The link of a card with these figures (many cards share one: a search over thousands
    of cards works each out once)."""
    per_lane = _v("pcie_gb_s_per_lane").get(str(gen), _v("pcie_gb_s_per_lane")["3"])
    pcie = per_lane * lanes * _v("nccl_pcie_efficiency")
    if nvlink_gb_s:
        rate = nvlink_gb_s / 2 * _v("nvlink_efficiency")
        key = "timing.link.nvlink" if all_to_all else "timing.link.nvlink_bridge"
        return Link(rate, "nvlink", Message(key, rate=f"{rate:.0f}"))
    if p2p:
        note = Message("timing.link.p2p", gen=gen, lanes=lanes, rate=f"{pcie:.0f}")
        return Link(pcie, "pcie-p2p", note)
    rate = pcie * _v("no_p2p_factor")
    key = "timing.link.host_bridges" if has_nvlink else "timing.link.host"
    return Link(rate, "pcie-host", Message(key, gen=gen, lanes=lanes, rate=f"{rate:.0f}"))


def host_link_gb_s(card: Card) -> float:
    """GB/s one card moves to and from host RAM."""
    return _host_link(card.pcie_gen or 3, card.pcie_lanes or 16)


@functools.lru_cache(maxsize=64)
def _host_link(gen: int, lanes: int) -> float:
    per_lane = _v("pcie_gb_s_per_lane").get(str(gen), 0.985)
    return float(per_lane * lanes * _v("host_link_efficiency"))


@record
class ParallelTime(Training):
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
    notes: tuple[Text, ...] = field(default=())

    @property
    def tokens_per_s_low(self) -> float | None:
        """The low end of the calibration's range around ``train_tokens_per_s``."""
        return scaled_tokens_per_s(self.train_tokens_per_s, "low")

    @property
    def tokens_per_s_high(self) -> float | None:
        """The high end of the calibration's range around ``train_tokens_per_s``."""
        return scaled_tokens_per_s(self.train_tokens_per_s, "high")


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


@record
class _Traffic:
    """What one optimizer step of ``p`` moves and steps off the card, whatever the card: bytes
    each card moves per micro-batch over the card-to-card link (``comm``), per optimizer step
    over its host link (``offload_bytes``: gradients down, weights up) and per micro-batch
    (``fetch_bytes``: ZeRO-3 offload's weights), the host CPU's optimizer step (``cpu_s``), how
    many ways the optimizer's work splits on the cards, and the tokens of a step."""

    comm: Comm
    offloads_optimizer: bool
    offload_bytes: float
    fetch_bytes: float
    cpu_s: float
    state_split: int
    step_tokens: int


@functools.lru_cache(maxsize=512)
def _traffic(spec: ModelSpec, w: Workload, p: Parallel) -> _Traffic:
    offload_bytes = fetch_bytes = cpu_s = 0.0
    if p.offloads("optimizer"):
        # gradients down and updated weights up, each card its 1/N share, per optimizer step;
        # the host's CPU steps every trainable parameter
        offload_bytes = 2 * _grad_bytes(spec, w, p) / p.gpus
        cpu_s = trainable_params(spec, w) / _cpu_adam_rate(p)
    if p.offloads("weights"):  # forward and backward, per micro-batch
        fetch_bytes = 2 * _gathered_bytes(spec, w) / p.gpus
    return _Traffic(
        comm_bytes(spec, w, p) if p.gpus > 1 else Comm(),
        p.offloads("optimizer"),
        offload_bytes,
        fetch_bytes,
        cpu_s,
        _state_split(p),
        w.batch * w.seq * p.gpus * p.grad_accum,
    )


def _step(
    spec: ModelSpec, w: Workload, card: Card, p: Parallel, single: TrainTime
) -> tuple[Link, Link, float, float, float, float, float | None, float | None]:
    """One optimizer step of ``p`` on ``card``: ``(link, shard group's link, comm_s,
    exposed_s, offload_s, after_s, step_s, tokens_per_s)``. Collectives cross the link each
    uses and hide behind compute up to the ``overlap`` fractions, never behind more than the
    step's compute in all, so a step takes at least as long as its traffic; offload adds host
    traffic and the CPU's optimizer step. ``step_s`` and ``tokens_per_s`` are None when the
    card's rate is unknown."""
    t, link, group, g_s, r_s, after_s, offload_s, fetch_s, comm_s = _moves(
        spec, w, p, link_key(card)
    )
    if single.compute_s is None or single.step_s is None:
        return link, group, comm_s, comm_s, offload_s, after_s, None, None
    hide_gather_fraction, hide_reduce_fraction = _overlap()
    compute = single.compute_s
    hide_gather = compute * hide_gather_fraction
    hide_reduce = compute * hide_reduce_fraction
    # DeepSpeed fetches offloaded weights a prefetch bucket ahead: only that share of a layer's
    # fetch can run behind the previous layer's compute (FSDP prefetches whole layers)
    ds_fetch = fetch_s if p.engine == "deepspeed" else 0.0
    ds_exposed = max(0.0, ds_fetch - hide_gather * _prefetch_share(spec))
    apart = max(0.0, g_s + fetch_s - ds_fetch - hide_gather) + max(0.0, r_s - hide_reduce)
    together = max(0.0, g_s + fetch_s - ds_fetch + r_s - hide_gather)
    exposed = max(apart, together) + ds_exposed
    optimizer_s = 0.0 if t.offloads_optimizer else single.optimizer_s / t.state_split
    step_s = p.grad_accum * (compute + exposed) + optimizer_s + offload_s + after_s
    return link, group, comm_s, exposed, offload_s, after_s, step_s, t.step_tokens / step_s


@functools.lru_cache(maxsize=4096)
def _moves(
    spec: ModelSpec, w: Workload, p: Parallel, key: tuple[Any, ...]
) -> tuple[_Traffic, Link, Link, float, float, float, float, float, float]:
    """What of :func:`_step` depends on the card only through its links (:func:`link_key`):
    ``(traffic, link, shard group's link, gather_s, reduce_s, after_s, offload_s, fetch_s,
    comm_s)``, worked out once for the cards alike (a search over thousands of cards meets a
    few dozen links)."""
    t = _traffic(spec, w, p)
    link = _key_link(key, p.gpus)
    # a hybrid shard group can sit on a faster link (NVLink pairs) than the whole machine
    group = _key_link(key, p.shard_group) if p.strategy == "fsdp-hybrid" else link
    g_s = t.comm.gather / (group.gb_s * GB)
    r_s = t.comm.reduce / (group.gb_s * GB) + t.comm.across / (link.gb_s * GB)
    after_s = t.comm.after_step / (link.gb_s * GB)
    offload_s = fetch_s = 0.0
    if t.offloads_optimizer or t.fetch_bytes:
        lanes, gen = key[0], key[1]
        host = _host_link(gen or 3, lanes or 16) * GB
        offload_s = t.offload_bytes / host + t.cpu_s
        fetch_s = t.fetch_bytes / host
    comm_s = g_s + r_s + fetch_s + after_s
    return t, link, group, g_s, r_s, after_s, offload_s, fetch_s, comm_s


@functools.lru_cache(maxsize=64)
def _prefetch_share(spec: ModelSpec) -> float:
    """Share of a layer's weights DeepSpeed ZeRO-3 prefetches while the previous layer computes:
    ``stage3_prefetch_bucket_size`` (what the HF Trainer's "auto" makes of it, a multiple of
    hidden²) over the weights of one layer, at most 1."""
    rule = _v("deepspeed_prefetch")
    bucket = float(rule["hidden_size_squared"]) * spec.hidden_size**2
    per_layer = spec.linear_params() / max(1, spec.num_layers)
    return min(1.0, bucket / per_layer) if per_layer else 1.0


def _cpu_adam_rate(p: Parallel) -> float:
    """Parameters per second the host's CPU steps (DeepSpeed's CPU Adam, or torch's AdamW)."""
    key = "cpu_adam_params_per_s" if p.engine == "deepspeed" else "torch_cpu_adam_params_per_s"
    return float(_v(key))


def parallel_tokens_per_s(
    spec: ModelSpec, w: Workload, card: Card, p: Parallel, single: TrainTime | None = None
) -> float | None:
    """Tokens per second of ``p`` on ``card`` (what :func:`parallel_train_time` says), without
    the rest of its account: a search over strategies ranks them by it."""
    return _step(spec, w, card, p, single or train_time(spec, w, card))[7]


def parallel_train_time(
    spec: ModelSpec,
    w: Workload,
    card: Card,
    p: Parallel,
    tokens: int | None = None,
    single: TrainTime | None = None,
) -> ParallelTime:
    """Step time and throughput of ``p`` (``w.batch`` per card) on ``gpus`` x ``card``, and
    what they are made of (see :func:`_step`). ``single``: the card's time for one
    micro-batch (``train_time(spec, w, card)``), when the caller has it already (a search
    over strategies on the same card)."""
    if single is None:
        single = train_time(spec, w, card)
    link, group, comm_s, exposed_s, offload_s, after_s, step_s, tps = _step(
        spec, w, card, p, single
    )
    notes = list(single.notes)
    if p.offloads("optimizer"):
        trainable = trainable_params(spec, w)
        key = "timing.note.cpu_adam" if p.engine == "deepspeed" else "timing.note.cpu_adamw"
        params, rate = f"{trainable / 1e9:.2f}", f"{_cpu_adam_rate(p) / 1e9:g}"
        notes.append(Message(key, params=params, rate=rate))
    if tps is None:
        return ParallelTime(
            None, None, None, comm_s, comm_s, offload_s, None, None, single.mfu, link, tuple(notes)
        )
    if p.gpus > 1:
        notes.append(Message("timing.note.collectives", link=link.note))
        if group is not link:
            notes.append(Message("timing.note.group", size=p.shard_group, link=group.note))
    time_to_train, energy = run_and_energy(card, tokens, tps, notes, p.gpus)
    mfu = single.mfu
    if p.gpus > 1 and single.compute_s:
        # the step's share of the peak over the whole step, collectives and offload included
        # (one card's mfu is its compute's share: a card of N runs tps / N tokens a second)
        mfu *= tps / p.gpus / (w.batch * w.seq / single.compute_s)
    return ParallelTime(
        train_tokens_per_s=tps,
        step_s=step_s,
        compute_s=single.compute_s,
        comm_s=comm_s,
        exposed_comm_s=exposed_s * p.grad_accum + after_s,
        offload_s=offload_s,
        time_to_train_s=time_to_train,
        energy_kwh=energy,
        mfu=mfu,
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
