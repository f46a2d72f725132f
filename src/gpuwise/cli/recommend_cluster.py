"""``gpuwise recommend MODEL --tokens N --deadline D --max-nodes M [--network K,...]``: which
cluster (card, nodes of 8, network) and layout finish a training job under a deadline for the
least rental (:mod:`gpuwise.cluster.recommend`)."""

from __future__ import annotations

import argparse
import math

from gpuwise.cli.lang import help_text
from gpuwise.errors import GpuwiseError
from gpuwise.i18n import Message

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

    from gpuwise.catalog import Card, Catalog
    from gpuwise.recommend.prices import PriceBook

_FLAGS = ("max_nodes", "network", "gpu_hour_price", "global_batch")


def add_cluster_recommend_flags(p: argparse.ArgumentParser) -> None:
    g = p.add_argument_group(help_text("cluster_rec.group"))
    g.add_argument("--max-nodes", metavar="M", help=help_text("cluster_rec.opt.max_nodes"))
    g.add_argument(
        "--network", action="append", metavar="NET", help=help_text("cluster_rec.opt.network")
    )
    g.add_argument(
        "--gpu-hour-price", metavar="PRICE", help=help_text("cluster_rec.opt.gpu_hour_price")
    )
    g.add_argument("--global-batch", metavar="N", help=help_text("cluster_rec.opt.global_batch"))


def wants_clusters(args: argparse.Namespace) -> bool:
    """Whether the flags ask for clusters: any of --max-nodes, --network, --gpu-hour-price,
    --global-batch."""
    return any(getattr(args, f, None) is not None for f in _FLAGS)


def _whole(text: str, flag: str, low: int, high: int) -> int:
    value = text.strip()
    if not (value.isascii() and value.isdigit()) or not low <= int(value) <= high:
        shown = value if value.isprintable() and len(value) <= 20 else repr(value[:20])
        raise GpuwiseError(
            Message("cluster_rec.bad_whole", flag=flag, low=low, high=high, got=shown)
        )
    return int(value)


def _price(text: str) -> float:
    try:
        value = float(text.strip()) if text.strip().isascii() else math.nan
    except ValueError:
        value = math.nan
    if not (math.isfinite(value) and 0.001 <= value <= 10000):
        shown = text if text.isprintable() and len(text) <= 20 else repr(text[:20])
        raise GpuwiseError(Message("cluster_rec.bad_price", got=shown))
    return value


def _network_keys(values: list[str]) -> list[str]:
    """The network keys of repeated, comma-separated ``--network`` flags; an empty one (from
    an unset shell variable, or ``a,,b``) is one line naming what is accepted."""
    keys = []
    for value in values:
        for key in value.split(","):
            if not key.strip():
                plain = value.strip() and value.isprintable() and len(value) <= 40
                shown = value if plain else repr(value[:40])
                raise GpuwiseError(Message("cluster_rec.empty_network", got=shown))
            keys.append(key.strip())
    return keys


def cluster_document(
    args: argparse.Namespace,
    spec: Any,
    workload: Any,
    catalog: Catalog,
    cards: list[Card],
    book: PriceBook,
    tokens: int | None,
    deadline_s: float | None,
) -> dict[str, Any]:
    """recommend's document over clusters; one line (exit 2) when a flag is bad."""
    from gpuwise.cluster import MAX_NODES
    from gpuwise.cluster.recommend import recommend_clusters, rented_cards, rules
    from gpuwise.render.cluster_recommend_json import cluster_recommend_doc

    if workload.task != "train":
        raise GpuwiseError(Message("cluster_rec.train_only"))
    from gpuwise.parallel import MAX_GPUS

    given = (
        ("--budget", args.budget is not None),
        ("--have", args.have is not None),
        ("--emit", args.emit is not None),
        ("--max-power", args.max_power is not None),
        ("--max-gpus", args.max_gpus != MAX_GPUS),
        ("--grad-accum", args.grad_accum != 1),
        ("--reserve", str(args.reserve).strip() != "0"),
        ("--framework", getattr(args, "framework", None) not in (None, "transformers")),
    )
    for flag, asked in given:
        if asked:  # not planned for clusters: never silently ignored
            raise GpuwiseError(Message("cluster_rec.not_for_clusters", flag=flag))
    if tokens is None:
        raise GpuwiseError(Message("cluster_rec.needs_tokens"))
    given_nodes = args.max_nodes if args.max_nodes is not None else str(MAX_NODES)
    max_nodes = _whole(given_nodes, "--max-nodes", 1, MAX_NODES)  # '' too: one line
    price = _price(args.gpu_hour_price) if args.gpu_hour_price is not None else None
    batch = None
    if args.global_batch is not None:
        batch = _whole(args.global_batch, "--global-batch", 1, 1 << 20)
    keys = _network_keys(args.network) if args.network is not None else None
    if keys:
        from gpuwise.cluster.network import network

        for key in keys:
            network(key, args.catalog)  # an unknown key: one line naming the known ones
    if not args.gpu:  # the cards rented by the hour (--gpu-hour-price sets their price)
        cards = rented_cards(cards, book)
    rec = recommend_clusters(
        spec,
        workload,
        cards,
        tokens,
        book,
        deadline_s=deadline_s,
        max_nodes=max_nodes,
        gpus_per_node=int(rules()["gpus_per_node"]["value"]),
        network_keys=keys,
        gpu_hour_price=price,
        global_batch=batch,
        catalog_path=args.catalog,
        objective=args.objective,
    )
    return cluster_recommend_doc(rec, spec, workload, catalog.date, int(args.top))
