"""Several machines (nodes) of identical cards, and how a training job is laid out on them.

- :mod:`gpuwise.cluster.network`: the links between nodes (InfiniBand, RoCE, Ethernet);
- :mod:`gpuwise.cluster.layout`: tensor / pipeline / context / data parallel sizes and their rules;
- :mod:`gpuwise.cluster.memory`: what one GPU of a layout holds at its peak.

Inside a node the cards talk over the link today's one-machine plans use
(:func:`gpuwise.timing.parallel.card_link`: NVLink, NVSwitch or PCIe from the catalogue).
"""

from __future__ import annotations

from gpuwise.errors import GpuwiseError
from gpuwise.i18n import Message
from gpuwise.record import record

TYPE_CHECKING = False
if TYPE_CHECKING:
    from gpuwise.catalog.card import Card
    from gpuwise.cluster.network import Network

#: Most nodes and cards per node a cluster plan takes.
MAX_NODES = 64
MAX_GPUS_PER_NODE = 8
#: Most NICs a node may use between nodes.
MAX_NICS = 16


@record
class Cluster:
    """``nodes`` machines of ``gpus_per_node`` identical cards, joined by ``network``."""

    card: Card
    nodes: int
    gpus_per_node: int
    network: Network | None  # None only for one node
    nics_per_node: int

    @property
    def world(self) -> int:
        """Every GPU of the cluster."""
        return self.nodes * self.gpus_per_node

    @property
    def inter_node_bytes_per_s(self) -> float:
        """Bytes a second one node sends to the others (all its NICs together); 0 on one node."""
        if self.network is None:
            return 0.0
        return self.nics_per_node * self.network.bytes_per_s


def default_nics(network: Network | None, gpus_per_node: int) -> int:
    """The NICs NCCL uses per node unless told: one per GPU on an RDMA fabric (the usual
    HGX build: a ConnectX port beside each GPU), one on plain Ethernet."""
    if network is None:
        return 0
    return gpus_per_node if network.rdma else 1


def make_cluster(
    card: Card,
    nodes: int,
    gpus_per_node: int,
    network: Network | None,
    nics_per_node: int | None = None,
) -> Cluster:
    """A checked :class:`Cluster`: one line naming the problem when a figure is out of range."""
    if isinstance(nodes, bool) or not isinstance(nodes, int) or not 1 <= nodes <= MAX_NODES:
        raise GpuwiseError(Message("cluster.nodes_range", most=MAX_NODES, got=str(nodes)))
    if (
        isinstance(gpus_per_node, bool)
        or not isinstance(gpus_per_node, int)
        or not 1 <= gpus_per_node <= MAX_GPUS_PER_NODE
    ):
        raise GpuwiseError(
            Message("cluster.gpus_range", most=MAX_GPUS_PER_NODE, got=str(gpus_per_node))
        )
    if nodes > 1 and network is None:
        raise GpuwiseError(Message("cluster.needs_network", nodes=nodes))
    if nics_per_node is None:
        nics_per_node = default_nics(network, gpus_per_node)
    elif (
        isinstance(nics_per_node, bool)
        or not isinstance(nics_per_node, int)
        or not 1 <= nics_per_node <= MAX_NICS
    ):
        raise GpuwiseError(Message("cluster.nics_range", most=MAX_NICS, got=str(nics_per_node)))
    return Cluster(card, nodes, gpus_per_node, network, nics_per_node)


__all__ = ["MAX_GPUS_PER_NODE", "MAX_NODES", "Cluster", "default_nics", "make_cluster"]
