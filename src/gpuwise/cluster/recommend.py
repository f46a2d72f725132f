"""``recommend`` over clusters: which card, how many nodes, which network and layout finish a
training job of ``tokens`` under a deadline for the least rental.

For every card asked (default: the cards the price book rents by the hour), every node count
of :func:`node_counts` (powers of two up to ``max_nodes``, and ``max_nodes``) and every network
asked (default: the card's usual fabric, ``data/cluster_recommend.json``), the fastest layout
that fits (:func:`gpuwise.cluster.search.best_layouts`, quick) gives the job's time
(``tokens / tokens_per_s``) and its cost (rental per GPU-hour x GPUs x hours), every cluster
running the same job: the same sequences per optimizer step (``--global-batch``; default
``--batch`` x the GPUs of the largest cluster), in more micro-batches on smaller clusters.
Options that meet the deadline come first, cheapest first; then those that miss it, fastest
first.
Clusters where nothing fits are counted, not listed. ``--objective fastest`` ranks those
that meet the deadline by time instead; the other objectives all rank by cost.
"""

from __future__ import annotations

import functools

from gpuwise.i18n import Message
from gpuwise.packaged import packaged_json
from gpuwise.record import field, record
from gpuwise.units import GIB

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

    from gpuwise.catalog import Card
    from gpuwise.cluster.layout import Layout
    from gpuwise.cluster.memory import GpuMemory
    from gpuwise.cluster.network import Network
    from gpuwise.cluster.time import ClusterTime
    from gpuwise.i18n import Text
    from gpuwise.models.spec import ModelSpec
    from gpuwise.recommend.prices import PriceBook
    from gpuwise.workload import Workload


@functools.lru_cache(maxsize=1)
def rules() -> dict[str, Any]:
    """Which network a card's cluster is usually built with (``data/cluster_recommend.json``)."""
    data: dict[str, Any] = packaged_json("gpuwise.cluster", "data/cluster_recommend.json")
    return data


def usual_network(card: Card) -> str:
    """The network a cluster of ``card`` is usually rented with (the rules file's reason)."""
    r = rules()["usual_network"]["value"]
    for tag, key in r["by_slug"].items():
        if tag in card.slug:
            return str(key)
    return str(r["by_segment"].get(card.segment, r["default"]))


def node_counts(max_nodes: int) -> list[int]:
    """1, 2, 4, ... up to ``max_nodes``, and ``max_nodes`` itself."""
    out, n = [], 1
    while n <= max_nodes:
        out.append(n)
        n *= 2
    if out[-1] != max_nodes:
        out.append(max_nodes)
    return out


@record
class ClusterOption:
    """One cluster of ``nodes`` x ``gpus_per_node`` ``card`` on ``network`` and its fastest
    fitting layout; ``hourly`` per GPU-hour (None: no price), ``run_s`` the job's time,
    ``cost`` its rental, ``meets`` whether it ends by the deadline (None without one)."""

    card: Card
    nodes: int
    gpus_per_node: int
    network: Network | None
    layout: Layout
    memory: GpuMemory
    time: ClusterTime
    why: list  # Message lines
    hourly: float | None
    price_source: Text | None
    run_s: float
    cost: float | None
    meets: bool | None

    @property
    def world(self) -> int:
        return self.nodes * self.gpus_per_node


@record
class ClusterRecommendation:
    """The ranked options, with what was searched and what did not fit."""

    options: list[ClusterOption]
    tokens: int
    deadline_s: float | None
    currency: str
    clusters_tried: int
    clusters_without_fit: int  # no layout fits, or none splits the global batch
    notes: list = field(default_factory=list)  # Message lines
    objective: str = "cost-to-finish"
    global_batch: int = 0  # sequences per optimizer step on every cluster


def _sort_key(o: ClusterOption, objective: str) -> tuple[Any, ...]:
    """Those that meet the deadline first: by cost (``fastest``: by time), unpriced after the
    priced; then those that miss it, fastest first."""
    if o.meets is False:
        return (1, o.run_s, o.cost if o.cost is not None else float("inf"))
    if objective == "fastest":
        return (0, o.run_s, o.cost if o.cost is not None else float("inf"))
    return (0, o.cost is None, o.cost if o.cost is not None else o.run_s, o.run_s)


def recommend_clusters(
    spec: ModelSpec,
    w: Workload,
    cards: list[Card],
    tokens: int,
    book: PriceBook,
    *,
    deadline_s: float | None = None,
    max_nodes: int = 64,
    gpus_per_node: int = 8,
    network_keys: list[str] | None = None,
    gpu_hour_price: float | None = None,
    global_batch: int | None = None,
    catalog_path: str | None = None,
    objective: str = "cost-to-finish",
    advise: bool = True,
) -> ClusterRecommendation:
    """Every cluster of ``cards`` up to ``max_nodes`` nodes, its fastest fitting layout, time
    and cost for ``tokens`` (see the module's rules), ranked. ``advise``: when no cluster fits,
    search again with checkpointing and with up to 64 nodes (the same global batch) and say
    which of those makes it fit."""
    from gpuwise.cluster import make_cluster
    from gpuwise.cluster.network import network
    from gpuwise.cluster.search import Searched, best_layouts

    # the same job on every cluster: as many sequences a step (default: w.batch per GPU of
    # the largest cluster), split into more micro-batches on smaller ones
    batch = global_batch if global_batch is not None else w.batch * gpus_per_node * max_nodes
    options: list[ClusterOption] = []
    tried = without = unsplit = 0
    unpriced: list[str] = []
    for card in cards:
        hourly, source = _hourly(card, book, gpu_hour_price)
        if hourly is None:
            unpriced.append(card.name)
        keys = network_keys or [usual_network(card)]
        nets = [network(k, catalog_path) for k in keys]
        for nodes in node_counts(max_nodes):
            for net in nets if nodes > 1 else [None]:
                cluster = make_cluster(card, nodes, gpus_per_node, net)
                tried += 1
                searched: list[Searched] = []
                found = best_layouts(
                    spec, w, cluster, top=1, global_batch=batch, quick=True, searched=searched,
                )  # fmt: skip
                if not found:
                    if searched[0].legal == 0:
                        unsplit += 1  # no layout splits the step's sequences on this many GPUs
                    else:
                        without += 1
                    continue
                layout, mem, t, why = found[0]
                run_s = tokens / t.tokens_per_s
                world = cluster.world
                cost = hourly * world * run_s / 3600 if hourly is not None else None
                meets = None if deadline_s is None else run_s <= deadline_s
                option = ClusterOption(
                    card, nodes, gpus_per_node, net, layout, mem, t, why, hourly, source,
                    run_s, cost, meets,
                )  # fmt: skip
                options.append(option)
    options.sort(key=lambda o: _sort_key(o, objective))
    notes: list[Text] = []
    if unpriced:
        notes.append(Message("cluster_rec.note.unpriced", cards=", ".join(unpriced)))
    if without:
        notes.append(Message("cluster_rec.note.no_fit", count=without, tried=tried))
    if unsplit:
        seqs = Message("cluster_rec.sequences", count=batch)
        notes.append(Message("cluster_rec.note.unsplit", count=unsplit, tried=tried, batch=seqs))
    if deadline_s is not None and options and not any(o.meets for o in options):
        notes.append(Message("cluster_rec.note.none_meets"))
    if advise and not options and without:
        again = functools.partial(
            recommend_clusters, spec, cards=cards, tokens=tokens, book=book,
            deadline_s=deadline_s, gpus_per_node=gpus_per_node, network_keys=network_keys,
            gpu_hour_price=gpu_hour_price, global_batch=batch, catalog_path=catalog_path,
            objective=objective, advise=False,
        )  # fmt: skip
        notes += _what_fits(again, w, max_nodes)
    return ClusterRecommendation(
        options,
        tokens,
        deadline_s,
        book.currency,
        tried,
        without + unsplit,
        notes,
        objective,
        batch,
    )


def _hourly(
    card: Card, book: PriceBook, gpu_hour_price: float | None
) -> tuple[float | None, Text | None]:
    if gpu_hour_price is not None:
        return gpu_hour_price, Message("cluster_rec.price_given")
    price = book.price(card)
    if price is None or price.hourly is None:
        return None, None
    label = price.hourly_quote.label if price.hourly_quote is not None else price.source
    return price.hourly, label


def rented_cards(cards: list[Card], book: PriceBook) -> list[Card]:
    """The cards of ``cards`` the price book rents by the hour (the default to compare)."""
    out = []
    for card in cards:
        price = book.price(card)
        if price is not None and price.hourly is not None:
            out.append(card)
    return out


def _what_fits(again: Any, w: Workload, max_nodes: int) -> list[Text]:
    """When no cluster fits: the changes (checkpointing, up to 64 nodes, both) with which one
    does, each searched again with the same global batch, the first that fits of each named;
    or one line saying none of them does."""
    from gpuwise.cluster import MAX_NODES

    tries: list[tuple[str, Workload, int]] = []
    if not w.grad_checkpointing:
        tries.append(("--grad-checkpointing", w.with_(grad_checkpointing=True), max_nodes))
    if max_nodes < MAX_NODES:
        tries.append((f"--max-nodes {MAX_NODES}", w, MAX_NODES))
        if not w.grad_checkpointing:
            both = f"--grad-checkpointing --max-nodes {MAX_NODES}"
            tries.append((both, w.with_(grad_checkpointing=True), MAX_NODES))
    for change, changed, nodes in tries:
        rec = again(changed, max_nodes=nodes)
        if rec.options:
            o = rec.options[0]
            return [
                Message(
                    "cluster_rec.note.fits_with",
                    change=change,
                    nodes=o.nodes,
                    gpus=o.gpus_per_node,
                    card=o.card.name,
                    layout=o.layout.text(),
                    gib=f"{o.memory.total / GIB:.1f}",
                )
            ]
    return [Message("cluster_rec.note.nothing_fits")]
