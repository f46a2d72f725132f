"""``--layout auto``: the legal layouts of a job on a cluster, those that fit, the fastest few.

Every layout is tried whose sizes are legal (:func:`gpuwise.cluster.layout.layout_problem`:
tensor parallel inside a node, heads, KV heads, FFN width and layers divisible, ...) and whose
data-parallel replicas split the step's sequences evenly into micro-batches of ``w.batch``:
``tp`` a divisor of the GPUs of a node, ``pp`` and ``cp`` powers of two, every sharding,
sequence parallel whenever ``tp > 1`` (the same bytes as the all-reduce it replaces, less
memory), 1F1B and interleaved with two chunks per GPU. A layout fits when its worst rank's
peak (:func:`gpuwise.cluster.memory.gpu_memory`) is within the card's usable memory; those that
fit are ranked by step time (:func:`gpuwise.cluster.time.cluster_time`; the step's tokens are the
same for all of them). ``quick`` tries fewer (what ``recommend`` does over many clusters):
FSDP, HSDP and ZeRO-1 only, 1F1B only, at most 8 stages, context parallel only past 16k
tokens.
"""

from __future__ import annotations

from gpuwise.i18n import Message
from gpuwise.record import record

TYPE_CHECKING = False
if TYPE_CHECKING:
    from gpuwise.cluster import Cluster
    from gpuwise.cluster.layout import Layout
    from gpuwise.cluster.memory import GpuMemory
    from gpuwise.cluster.time import ClusterTime
    from gpuwise.i18n import Text
    from gpuwise.models.spec import ModelSpec
    from gpuwise.workload import Workload

GIB = 2**30
#: Context parallel is tried (quick search) from this many tokens a sequence.
CP_FROM_SEQ = 16384
#: The most pipeline stages a quick search tries (a node's worth: deeper pipelines only pay
#: off for models far past what 64 nodes train).
QUICK_MAX_PP = 8
_PARTS = (
    ("tp_comm_s", "tp"),
    ("cp_comm_s", "cp"),
    ("pp_p2p_s", "p2p"),
    ("pp_bubble_s", "bubble"),
    ("dp_comm_s", "dp"),
    ("optimizer_s", "optimizer"),
)
#: How each part is said.
_PART_KEYS = {
    "tp": "cluster_rec.part.tp",
    "cp": "cluster_rec.part.cp",
    "p2p": "cluster_rec.part.p2p",
    "bubble": "cluster_rec.part.bubble",
    "dp": "cluster_rec.part.dp",
    "optimizer": "cluster_rec.part.optimizer",
}


@record
class Searched:
    """What a search looked at: layouts legal on the cluster, and of those how many fit."""

    legal: int
    fit: int


def _powers(most: int) -> list[int]:
    out, n = [], 1
    while n <= most:
        out.append(n)
        n *= 2
    return out


def candidates(
    spec: ModelSpec, w: Workload, cluster: Cluster, global_batch: int, quick: bool = False
) -> list[Layout]:
    """The legal layouts of ``w`` on ``cluster`` for ``global_batch`` sequences a step."""
    from gpuwise.cluster.layout import SHARDINGS, Layout, layout_problem

    world, gpn = cluster.world, cluster.gpus_per_node
    out: list[Layout] = []
    tps = [t for t in range(1, gpn + 1) if gpn % t == 0]
    shardings: tuple[str, ...] = ("fsdp", "hsdp", "zero1") if quick else SHARDINGS
    cps = [1] if quick and w.seq < CP_FROM_SEQ else _powers(min(world, 16))
    for tp in tps:
        for pp in _powers(min(world // tp, spec.num_layers, QUICK_MAX_PP if quick else world)):
            for cp in cps:
                if world % (tp * pp * cp):
                    continue
                dp = world // (tp * pp * cp)
                if global_batch % (w.batch * dp):
                    continue
                mb = global_batch // (w.batch * dp)
                schedules = [("1f1b", 1)]
                if pp > 1 and not quick:
                    schedules.append(("interleaved", 2))
                for sharding in shardings:
                    if sharding == "hsdp" and (cluster.nodes < 2 or dp < 2):
                        continue
                    if sharding != "ddp" and dp == 1 and sharding != "fsdp":
                        continue  # sharding over one replica is no sharding: one name for it
                    for schedule, v in schedules:
                        layout = Layout(
                            tp=tp,
                            pp=pp,
                            cp=cp,
                            dp=dp,
                            sharding=sharding,
                            sequence_parallel=tp > 1,
                            schedule=schedule,
                            virtual_stages=v,
                            micro_batches=mb,
                        )
                        if layout_problem(spec, w, cluster, layout) is None:
                            out.append(layout)
    return out


def best_layouts(
    spec: ModelSpec,
    w: Workload,
    cluster: Cluster,
    top: int = 3,
    global_batch: int | None = None,
    quick: bool = False,
    searched: list[Searched] | None = None,
) -> list[tuple[Layout, GpuMemory, ClusterTime, list[Text]]]:
    """The ``top`` fastest layouts that fit, fastest first (one per tp/pp/cp/schedule shape,
    with its fastest sharding), each with one line saying why; empty when none fits.
    ``global_batch``: sequences per optimizer step (default ``w.batch`` x the cluster's GPUs);
    ``searched`` gets how many were legal and fit (quick: of those looked at, fastest first,
    until ``top`` fit)."""
    from gpuwise.catalog import usable_memory
    from gpuwise.cluster.memory import gpu_memory
    from gpuwise.cluster.time import cluster_time

    if global_batch is None:
        global_batch = w.batch * cluster.world
    usable = usable_memory(cluster.card).bytes
    legal = candidates(spec, w, cluster, global_batch, quick)
    timed = sorted(
        ((cluster_time(spec, w, cluster, layout), i, layout) for i, layout in enumerate(legal)),
        key=lambda x: (x[0].step_s, x[1]),
    )
    # fastest first; the worst rank's memory (the costly part) is worked out in that order,
    # for every layout (``searched``: the count of those that fit) or until enough fit
    out: list[tuple[Layout, GpuMemory, ClusterTime, list[Text]]] = []
    shapes: set[tuple[int, int, int, str]] = set()
    fit = 0
    # without ``searched`` nobody needs the count: stop once ``top`` shapes fit
    lazy = quick or searched is None
    for t, _, layout in timed:
        shape = (layout.tp, layout.pp, layout.cp, layout.schedule)
        if lazy and len(out) == top:
            break
        if lazy and shape in shapes:
            continue
        mem = gpu_memory(spec, w, cluster, layout)
        if mem.total > usable:
            continue
        fit += 1
        # one layout per shape: FSDP and ZeRO-3 of the same sizes are the same step
        if shape in shapes or len(out) == top:
            continue
        shapes.add(shape)
        best_s = out[0][2].step_s if out else t.step_s
        out.append((layout, mem, t, [_why(len(out), layout, mem, t, usable, best_s)]))
    if searched is not None:
        searched.append(Searched(len(legal), fit))
    return out


def biggest_cost(t: ClusterTime) -> tuple[str, float]:
    """The largest part of a step beyond compute (its name) and its share of the step."""
    name, seconds = max(((n, getattr(t, f)) for f, n in _PARTS), key=lambda x: x[1])
    return name, seconds / t.step_s if t.step_s else 0.0


def _why(
    rank: int, layout: Layout, mem: GpuMemory, t: ClusterTime, usable: int, best_s: float
) -> Message:
    part, share = biggest_cost(t)
    tail = (
        Message("cluster_rec.tail.part", part=Message(_PART_KEYS[part]), share=f"{share:.0%}")
        if share >= 0.01
        else Message("cluster_rec.tail.hidden")
    )
    common = {
        "layout": layout.text(),
        "used": f"{mem.total / GIB:.1f}",
        "usable": f"{usable / GIB:.1f}",
        "step": f"{t.step_s:.2f}",
        "mfu": f"{t.mfu:.0%}",
        "tail": tail,
    }
    if rank == 0:
        return Message("cluster_rec.why.best", **common)
    return Message("cluster_rec.why.other", slower=f"{t.step_s / best_s - 1:.0%}", **common)
