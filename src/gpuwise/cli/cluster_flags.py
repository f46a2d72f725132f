"""`plan`'s cluster flags (--nodes, --network, --layout, --nics) and the cluster they build."""

from __future__ import annotations

import argparse

from gpuwise.cli.lang import help_text
from gpuwise.errors import GpuwiseError
from gpuwise.i18n import Message

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

    from gpuwise.cluster import Cluster
    from gpuwise.cluster.layout import Layout


def add_cluster_flags(p: argparse.ArgumentParser) -> None:
    g = p.add_argument_group(help_text("cluster.group"))
    g.add_argument("--nodes", default=None, metavar="M", help=help_text("cluster.opt.nodes"))
    g.add_argument("--network", default=None, metavar="NET", help=help_text("cluster.opt.network"))
    g.add_argument("--layout", default=None, metavar="LAYOUT", help=help_text("cluster.opt.layout"))
    g.add_argument("--nics", default=None, metavar="K", help=help_text("cluster.opt.nics"))


def wants_cluster(args: argparse.Namespace) -> bool:
    """Whether the flags ask for a cluster plan: --nodes other than 1, or a --layout (--nodes 1
    alone is today's plan, unchanged). --network or --nics without either is one line: they
    would change nothing."""
    nodes = getattr(args, "nodes", None)
    wanted = (nodes is not None and nodes.strip() != "1") or getattr(
        args, "layout", None
    ) is not None
    if not wanted:
        for flag, value in (("--network", "network"), ("--nics", "nics")):
            if getattr(args, value, None) is not None:
                raise GpuwiseError(Message("cluster.flag_alone", flag=flag))
    return wanted


def _whole(text: str, flag: str, low: int, high: int, key: str) -> int:
    value = text.strip()
    # ASCII digits only: int() takes other scripts' digits, signs and underscores
    if not (value.isascii() and value.isdigit()) or not low <= int(value) <= high:
        shown = value if value and value.isprintable() and len(value) <= 20 else repr(value[:20])
        raise GpuwiseError(Message(key, most=high, got=shown))
    return int(value)


def node_parallel(args: argparse.Namespace) -> Any:
    """The one-machine plan a cluster plan's ``cards[]`` show: one node of the cluster (its
    cards with FSDP, or the one card); --strategy and --shard-size belong to one machine."""
    from gpuwise.cluster import MAX_GPUS_PER_NODE
    from gpuwise.parallel import Parallel

    if args.strategy is not None or args.shard_size is not None:
        raise GpuwiseError(Message("cluster.no_strategy"))
    gpus = 8 if args.gpus is None else args.gpus
    if not 1 <= gpus <= MAX_GPUS_PER_NODE:
        raise GpuwiseError(Message("cluster.gpus_range", most=MAX_GPUS_PER_NODE, got=str(gpus)))
    return Parallel("fsdp" if gpus > 1 else "single", gpus, None, 1)


def cluster_from(args: argparse.Namespace, card: Any) -> tuple[Cluster, Layout | None]:
    """The cluster and layout the flags name for ``card``; one line when a flag is bad."""
    from gpuwise.cluster import MAX_GPUS_PER_NODE, MAX_NICS, MAX_NODES, make_cluster
    from gpuwise.cluster.layout import parse_layout
    from gpuwise.cluster.network import network

    if args.strategy is not None or args.shard_size is not None:
        raise GpuwiseError(Message("cluster.no_strategy"))
    nodes = _whole(
        "1" if args.nodes is None else args.nodes, "--nodes", 1, MAX_NODES, "cluster.nodes_range"
    )
    gpus = 8 if args.gpus is None else args.gpus
    if not 1 <= gpus <= MAX_GPUS_PER_NODE:
        raise GpuwiseError(Message("cluster.gpus_range", most=MAX_GPUS_PER_NODE, got=str(gpus)))
    net = None
    if args.network is not None:
        net = network(args.network, args.catalog)
    elif nodes > 1:
        raise GpuwiseError(Message("cluster.needs_network", nodes=nodes))
    nics = None
    if args.nics is not None:
        nics = _whole(args.nics, "--nics", 1, MAX_NICS, "cluster.nics_range")
    cluster = make_cluster(card, nodes, gpus, net, nics)
    layout = parse_layout("auto" if args.layout is None else args.layout, cluster.world)
    if layout is not None and args.grad_accum != 1 and "mb=" not in (args.layout or ""):
        from gpuwise.record import replace

        layout = replace(layout, micro_batches=args.grad_accum)
    return cluster, layout


def add_cluster_docs(
    args: argparse.Namespace, doc: dict[str, Any], plan: Any, tokens: int | None = None
) -> None:
    """Each card's ``cluster`` entry of the plan document (``tokens``: --tokens, for the
    time to train them)."""
    from gpuwise.cluster.plan import cluster_plan
    from gpuwise.render.cluster_json import cluster_plan_doc

    plans = []
    for c in plan.cards:
        cluster, layout = cluster_from(args, c.card)
        plans.append(cluster_plan(plan.spec, c.workload, cluster, layout))
    cluster_plan_doc(doc, plans, tokens)
