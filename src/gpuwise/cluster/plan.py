"""A cluster plan for one card: the layout asked for (or the search's best), its per-GPU
memory against the card, its step time, the alternatives and, when it does not fit, the changes
that make it fit (each worked out, not guessed)."""

from __future__ import annotations

from gpuwise.catalog import usable_memory
from gpuwise.cluster.layout import layout_problem
from gpuwise.cluster.memory import GpuMemory, gpu_memory
from gpuwise.errors import GpuwiseError
from gpuwise.i18n import Message
from gpuwise.record import field, record, replace

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

    from gpuwise.cluster import Cluster
    from gpuwise.cluster.layout import Layout
    from gpuwise.models.spec import ModelSpec
    from gpuwise.workload import Workload


@record
class ClusterChange:
    """A change that makes the job fit: what it is (a Message), the layout / workload /
    cluster it gives, and the memory per GPU then."""

    what: Any
    layout: Layout
    nodes: int
    grad_checkpointing: bool
    memory: GpuMemory


@record
class ClusterPlan:
    cluster: Cluster
    layout: Layout
    memory: GpuMemory
    usable_bytes: int
    fits: bool
    time: Any  # gpuwise.cluster.time.ClusterTime, or None without a known matmul rate
    alternatives: list = field(default_factory=list)  # (Layout, GpuMemory, ClusterTime, why)
    changes: list = field(default_factory=list)  # ClusterChange, when it does not fit
    why: list = field(default_factory=list)  # --layout auto: why the search chose it


def _time(spec: ModelSpec, w: Workload, cluster: Cluster, layout: Layout) -> Any:
    try:
        from gpuwise.cluster.time import cluster_time
    except ImportError:  # pragma: no cover - B's module
        return None
    try:
        return cluster_time(spec, w, cluster, layout)
    except GpuwiseError:
        return None  # a card without a known matmul rate: memory only


def _search(spec: ModelSpec, w: Workload, cluster: Cluster) -> list[Any]:
    try:
        from gpuwise.cluster.search import best_layouts
    except ImportError:
        raise GpuwiseError(Message("cluster.auto_pending")) from None
    found: list[Any] = best_layouts(spec, w, cluster)
    return found


def _least_memory(spec: ModelSpec, w: Workload, cluster: Cluster) -> Layout:
    from gpuwise.cluster.search import candidates

    legal = candidates(spec, w, cluster, w.batch * cluster.world, False)
    if not legal:
        raise GpuwiseError(Message("cluster.auto_none", world=cluster.world))
    return min(legal, key=lambda lay: gpu_memory(spec, w, cluster, lay).total)


def cluster_plan(
    spec: ModelSpec, w: Workload, cluster: Cluster, layout: Layout | None
) -> ClusterPlan:
    """The plan of ``layout`` (None: the search's best) for ``w`` on ``cluster``; one line
    (GpuwiseError) when the layout breaks a rule."""
    alternatives: list[Any] = []
    why: list[Any] = []
    if layout is None:
        alternatives = _search(spec, w, cluster)
        if alternatives:
            layout, why = alternatives[0][0], list(alternatives[0][3])
            alternatives = alternatives[1:]
        else:  # nothing fits: the legal layout needing least memory, and what makes it fit
            layout = _least_memory(spec, w, cluster)
    problem = layout_problem(spec, w, cluster, layout)
    if problem is not None:
        raise GpuwiseError(problem)
    memory = gpu_memory(spec, w, cluster, layout)
    usable = usable_memory(cluster.card).bytes
    fits = memory.total <= usable
    changes = [] if fits else fitting_changes(spec, w, cluster, layout, usable)
    return ClusterPlan(
        cluster,
        layout,
        memory,
        usable,
        fits,
        _time(spec, w, cluster, layout),
        alternatives,
        changes,
        why,
    )


def fitting_changes(
    spec: ModelSpec, w: Workload, cluster: Cluster, layout: Layout, usable: int
) -> list[ClusterChange]:
    """Changes that make the job fit, each re-planned: gradient checkpointing, sequence
    parallel, sharding the state, more pipeline stages, more nodes."""
    from gpuwise.cluster import MAX_NODES

    tries: list[tuple[Any, Layout, int, bool]] = []
    if not w.grad_checkpointing:
        tries.append((Message("cluster.change.checkpointing"), layout, cluster.nodes, True))
    if layout.tp > 1 and not layout.sequence_parallel:
        tries.append(
            (
                Message("cluster.change.sp"),
                replace(layout, sequence_parallel=True),
                cluster.nodes,
                False,
            )
        )
    if layout.sharding in ("ddp", "zero1", "zero2") and layout.dp * layout.cp > 1:
        shard = "zero1" if layout.pp > 1 else "fsdp"
        if shard != layout.sharding:
            tries.append(
                (
                    Message("cluster.change.shard", sharding=shard),
                    replace(layout, sharding=shard),
                    cluster.nodes,
                    False,
                )
            )
    if layout.dp % 2 == 0:
        pp = layout.pp * 2
        m = max(layout.micro_batches, pp)
        more = replace(layout, pp=pp, dp=layout.dp // 2, micro_batches=m)
        if more.sharding in ("zero2", "zero3"):
            more = replace(more, sharding="zero1")
        tries.append((Message("cluster.change.pp", pp=pp, mb=m), more, cluster.nodes, False))
    if cluster.nodes * 2 <= MAX_NODES:
        tries.append(
            (
                Message("cluster.change.nodes", nodes=cluster.nodes * 2),
                replace(layout, dp=layout.dp * 2),
                cluster.nodes * 2,
                False,
            )
        )
    out = _fit(spec, w, cluster, usable, tries)
    if out:
        return out
    # no one change: checkpointing, sequence parallel and sharded state on more nodes
    both = replace(layout, sequence_parallel=layout.tp > 1)
    if both.sharding in ("ddp", "zero2"):
        both = replace(both, sharding="zero1" if both.pp > 1 else "fsdp")
    nodes = cluster.nodes * 2
    while nodes <= MAX_NODES:
        more = replace(both, dp=both.dp * nodes // cluster.nodes)
        what = Message("cluster.change.ckpt_nodes", nodes=nodes, sharding=more.sharding)
        out = _fit(spec, w, cluster, usable, [(what, more, nodes, True)])
        if out:
            return out
        nodes *= 2
    return []


def _fit(
    spec: ModelSpec,
    w: Workload,
    cluster: Cluster,
    usable: int,
    tries: list[tuple[Any, Layout, int, bool]],
) -> list[ClusterChange]:
    """The tries that fit, re-planned."""
    out = []
    for what, new, nodes, ckpt in tries:
        c = replace(cluster, nodes=nodes)
        if nodes > 1 and c.network is None:
            continue
        ww = replace(w, grad_checkpointing=True) if ckpt else w
        if layout_problem(spec, ww, c, new) is not None:
            continue
        got = gpu_memory(spec, ww, c, new)
        if got.total <= usable:
            out.append(ClusterChange(what, new, nodes, ckpt, got))
    return out
