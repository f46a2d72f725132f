"""Networks between nodes: the packaged figures carry sources, user networks are checked."""

from __future__ import annotations

import json

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from gpuwise.catalog import load_catalog
from gpuwise.cluster import Cluster, default_nics, make_cluster
from gpuwise.cluster.network import network, networks
from gpuwise.errors import GpuwiseError

KEYS = ("ib-ndr", "ib-hdr", "roce-400", "roce-200", "eth-100", "eth-25", "eth-10")


@pytest.fixture(autouse=True)
def _no_user_file(monkeypatch, tmp_path):
    monkeypatch.delenv("GPUWISE_CATALOG", raising=False)
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "none"))


def test_the_packaged_networks_and_their_sources():
    table = networks()
    assert tuple(table) == KEYS
    for key, net in table.items():
        assert net.key == key and net.origin == "packaged"
        assert 0 < net.bus_efficiency <= 1 and net.latency_us > 0
        for figure in ("gbit_s", "latency_us", "bus_efficiency"):
            assert f"{figure}: https://" in net.source, (key, figure)
    # line rates as sold: NDR and 400GbE 400 Gb/s a port, HDR 200
    assert table["ib-ndr"].gbit_s == 400 and table["ib-hdr"].gbit_s == 200
    # an NDR port moves 48 GB/s (NVIDIA: 48-49 GB/s per CX-7 NIC), 100 GbE over TCP 4-6 GB/s
    assert 47e9 <= table["ib-ndr"].bytes_per_s <= 49e9
    assert 4e9 <= table["eth-100"].bytes_per_s <= 6e9
    # RDMA fabrics faster than Ethernet sockets, a faster port faster
    assert (
        table["roce-400"].bytes_per_s > table["roce-200"].bytes_per_s > table["eth-100"].bytes_per_s
    )
    assert table["eth-100"].latency_us > table["ib-ndr"].latency_us


def test_nics_default_to_one_per_gpu_on_rdma_and_one_on_ethernet():
    assert default_nics(network("ib-ndr"), 8) == 8
    assert default_nics(network("eth-100"), 8) == 1
    assert default_nics(None, 8) == 0


def test_a_cluster_moves_its_nics_together():
    card = load_catalog().find("h100-sxm-80gb")
    c = make_cluster(card, 2, 8, network("IB-NDR"))
    assert isinstance(c, Cluster) and c.world == 16 and c.nics_per_node == 8
    assert c.inter_node_bytes_per_s == pytest.approx(8 * 48e9)
    assert make_cluster(card, 1, 4, None).inter_node_bytes_per_s == 0


@pytest.mark.parametrize(
    ("nodes", "gpus", "nics", "says"),
    [
        (0, 8, None, "--nodes"),
        (65, 8, None, "--nodes"),
        (2, 9, None, "--gpus"),
        (2, 0, None, "--gpus"),
        (2, 8, 0, "--nics"),
        (2, 8, 17, "--nics"),
    ],
)
def test_a_cluster_out_of_range_is_one_line(nodes, gpus, nics, says):
    with pytest.raises(GpuwiseError) as e:
        make_cluster(load_catalog().find("h100-sxm-80gb"), nodes, gpus, network("ib-ndr"), nics)
    assert says in str(e.value) and "\n" not in str(e.value)


def test_an_unknown_network_names_the_known_ones():
    with pytest.raises(GpuwiseError) as e:
        network("ib-xdr")
    assert "ib-xdr" in str(e.value) and "eth-10" in str(e.value)


def _user(tmp_path, monkeypatch, entries):
    path = tmp_path / "cards.json"
    path.write_text(json.dumps({"cards": [], "networks": entries}), encoding="utf-8")
    monkeypatch.setenv("GPUWISE_CATALOG", str(path))
    return path


def test_a_user_network_is_added_and_a_packaged_one_changed(tmp_path, monkeypatch):
    _user(
        tmp_path,
        monkeypatch,
        [
            {
                "key": "lab-ib",
                "name": "our lab",
                "gbit_s": 100,
                "latency_us": 3,
                "bus_efficiency": 0.5,
                "source": "our nccl-tests",
            },
            {"key": "ib-ndr", "bus_efficiency": 0.8},
        ],
    )
    table = networks()
    assert table["lab-ib"].bytes_per_s == pytest.approx(100e9 / 8 * 0.5)
    assert table["lab-ib"].rdma and table["lab-ib"].source == "our nccl-tests"
    assert table["ib-ndr"].bus_efficiency == 0.8 and table["ib-ndr"].gbit_s == 400


_VALUES = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(-(10**6), 10**6),
    st.floats(allow_nan=True),
    st.text(max_size=8),
    st.lists(st.integers(), max_size=2),
)


@settings(max_examples=150, deadline=None)
@given(
    entry=st.dictionaries(
        st.sampled_from(
            ["key", "name", "gbit_s", "latency_us", "bus_efficiency", "rdma", "source", "x"]
        ),
        _VALUES,
        max_size=7,
    ),
    whole=st.sampled_from(["list", "object", "number"]),
)
def test_any_user_network_entry_loads_or_is_one_line(tmp_path_factory, entry, whole):
    path = tmp_path_factory.mktemp("n") / "cards.json"
    body = {"list": [entry], "object": entry, "number": 3}[whole]
    path.write_text(json.dumps({"cards": [], "networks": body}), encoding="utf-8")
    message, table = "", {}
    try:
        table = networks(str(path))
    except GpuwiseError as e:
        message = str(e) or "(empty)"
    assert "\n" not in message and message != "(empty)"
    assert message or len(table) >= 7  # loaded: the packaged networks at least
    for net in table.values():
        assert 0 < net.bytes_per_s < float("inf")
