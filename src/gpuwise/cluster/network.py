"""The networks between the nodes of a cluster: line rate, latency and the share of it NCCL uses.

The packaged networks are in ``data/networks.json``, each figure with its source. The user card
file (``--catalog FILE``, ``$GPUWISE_CATALOG``, ``~/.config/gpuwise/cards.json``) may add or
change networks in a ``networks`` list beside its ``cards``::

    {"cards": [], "networks": [{"key": "my-ib", "name": "our fabric", "gbit_s": 200,
      "latency_us": 5, "bus_efficiency": 0.9, "rdma": true, "source": "our nccl-tests run"}]}

A key already known overrides only the fields given; a new key gives them all but ``rdma``
(true unless said) and ``source``. Bad entries are one line naming the field and what it takes.
"""

from __future__ import annotations

import functools
import json
import math
import re

from gpuwise.errors import GpuwiseError
from gpuwise.i18n import Message
from gpuwise.packaged import packaged_text
from gpuwise.record import record

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

_KEY = re.compile(r"[a-z0-9][a-z0-9.-]{0,31}")
#: What each figure may be: (low, high), both included.
_RANGES = {
    "gbit_s": (0.1, 100_000.0),
    "latency_us": (0.01, 100_000.0),
    "bus_efficiency": (0.01, 1.0),
}
_FIELDS = ("key", "name", "gbit_s", "latency_us", "bus_efficiency", "rdma", "source")
_NAME_MAX = 120
_SOURCE_MAX = 2000


@record
class Network:
    """One kind of link between nodes, one port of it (a node may have several: ``--nics``)."""

    key: str
    name: str
    gbit_s: float  # line rate of one port
    latency_us: float  # NCCL's latency term for one inter-node step (alpha of alpha-beta)
    bus_efficiency: float  # nccl-tests bus bandwidth / line rate, at large messages
    source: str  # where each figure comes from
    rdma: bool = True  # GPUDirect RDMA (InfiniBand, RoCE): one port per GPU is the usual build
    origin: str = "packaged"  # "packaged" or the user file that set it

    @property
    def bytes_per_s(self) -> float:
        """Bytes a second NCCL moves over one port of this network."""
        return self.gbit_s * 1e9 / 8 * self.bus_efficiency


def _packaged() -> dict[str, dict[str, Any]]:
    doc = json.loads(packaged_text("gpuwise.cluster", "data/networks.json"))
    sources = doc["sources"]
    out = {}
    for raw in doc["networks"]:
        cited = "; ".join(
            f"{figure}: {sources[ref]['url']}" for figure, ref in raw["source"].items()
        )
        if raw.get("assumption"):
            cited += f"; assumption: {raw['assumption']}"
        out[raw["key"]] = {**raw, "source": cited, "rdma": raw["key"].startswith(("ib-", "roce-"))}
    return out


def networks(catalog: str | None = None) -> dict[str, Network]:
    """Every network by key: the packaged ones, then the user card file's ``networks``."""
    table = _packaged()
    origin = {k: "packaged" for k in table}
    from gpuwise.catalog.load import user_catalog_path

    path = user_catalog_path(catalog)
    if path is not None:
        for raw in _user_entries(path, _stamp(path)):
            key = raw["key"]
            if key not in table:
                missing = ", ".join(f for f in _FIELDS[:5] if f not in raw)
                if missing:
                    raise GpuwiseError(
                        Message("cluster.network.missing", where=path, key=key, fields=missing)
                    )
                table[key] = {"rdma": True, "source": path}
            table[key] = {**table[key], **raw}
            origin[key] = path
    return {
        k: Network(
            v["key"],
            v["name"],
            float(v["gbit_s"]),
            float(v["latency_us"]),
            float(v["bus_efficiency"]),
            v["source"],
            bool(v["rdma"]),
            origin[k],
        )
        for k, v in table.items()
    }


def network(key: str, catalog: str | None = None) -> Network:
    """The network called ``key``; one line naming the known keys when there is none."""
    table = networks(catalog)
    found = table.get(key.strip().lower()) if isinstance(key, str) else None
    if found is None:
        raise GpuwiseError(
            Message("cluster.network.unknown", key=_shown(key), known=", ".join(table))
        )
    return found


def _stamp(path: str) -> tuple[int, ...] | None:
    """The user file's size, times and inode: it is read again when one changes."""
    import os

    try:
        st = os.stat(path)
    except (OSError, ValueError):
        return None
    return st.st_size, st.st_mtime_ns, st.st_ctime_ns, st.st_ino


@functools.lru_cache(maxsize=4)
def _user_entries(path: str, stamp: tuple[int, ...] | None) -> tuple[dict[str, Any], ...]:
    """The checked ``networks`` of the user file (a large card file is parsed once)."""
    return tuple(user_networks(_read(path), path))


def _read(path: str) -> Any:
    from gpuwise import files

    return files.read_json(path, path, Message("cluster.network.expected"), files.LIMITS["cards"])


def user_networks(doc: Any, where: str) -> list[dict[str, Any]]:
    """The checked ``networks`` list of a user card file (empty when it has none)."""
    if not isinstance(doc, dict) or "networks" not in doc:
        return []
    entries = doc["networks"]
    if not isinstance(entries, list):
        raise GpuwiseError(Message("cluster.network.not_list", where=where))
    out = []
    for i, raw in enumerate(entries):
        if not isinstance(raw, dict):
            raise GpuwiseError(Message("cluster.network.not_object", where=where, number=i + 1))
        key = raw.get("key")
        if not isinstance(key, str) or not _KEY.fullmatch(key):
            raise GpuwiseError(
                Message("cluster.network.bad_key", where=where, number=i + 1, got=_shown(key))
            )
        unknown = sorted(set(raw) - set(_FIELDS))
        if unknown:
            raise GpuwiseError(
                Message(
                    "cluster.network.unknown_fields",
                    where=where,
                    key=key,
                    fields=_shown(", ".join(unknown)),
                    known=", ".join(_FIELDS),
                )
            )
        for name, value in raw.items():
            expected = _unexpected(name, value)
            if expected is not None:
                raise GpuwiseError(
                    Message(
                        "cluster.network.bad_value",
                        where=where,
                        key=key,
                        field=name,
                        expected=expected,
                        got=_shown(value),
                    )
                )
        out.append(raw)
    return out


def _unexpected(name: str, value: Any) -> Message | None:
    if name in _RANGES:
        low, high = _RANGES[name]
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            return Message("cluster.network.expect.number", low=f"{low:g}", high=f"{high:g}")
        if not (math.isfinite(value) and low <= value <= high):
            return Message("cluster.network.expect.number", low=f"{low:g}", high=f"{high:g}")
    elif name == "rdma":
        if not isinstance(value, bool):
            return Message("cluster.network.expect.bool")
    elif name in ("name", "source"):
        longest = _NAME_MAX if name == "name" else _SOURCE_MAX
        if (
            not isinstance(value, str)
            or not value.strip()
            or len(value) > longest
            or any(ord(c) < 32 or ord(c) == 127 for c in value)
        ):
            return Message("cluster.network.expect.text", most=longest)
    return None


def _shown(value: Any, limit: int = 40) -> str:
    plain = isinstance(value, str) and value.isprintable() and value.strip() != ""
    text = value if plain else json.dumps(value, ensure_ascii=False)
    text = text if text.isprintable() else json.dumps(text)
    return text if len(text) <= limit else text[: limit - 3] + "..."
