"""What ``gpuwise plan --nodes M ...`` says in Chinese: the cluster tables and notes hold no
English prose (only names, codes, units and the layout text), the tables line up in terminal
cells, ``--json`` has the English document's keys and numbers, and malformed cluster flags
are one Chinese line."""

from __future__ import annotations

import re

import pytest
from hypothesis import given
from hypothesis import strategies as st

from gpuwise.cluster.layout import SCHEDULES, SHARDINGS
from gpuwise.cluster.network import networks

from ..checks import fixture_ok, one_line
from .checks import leftover_english, table_lines_aligned
from .test_zh_plan import PROSE, strings_at

CJK = re.compile(r"[\u4e00-\u9fff]")

SPREAD = [
    (
        "70B tp x pp on H100 IB",
        [
            "llama-3.1-70b",
            "--gpu",
            "h100-sxm-80gb",
            "--nodes",
            "4",
            "--network",
            "ib-ndr",
            "--layout",
            "tp=8,pp=4,mb=8,shard=zero1,sp",
            "--seq",
            "4096",
        ],
    ),
    (
        "70B too big on 4090 Ethernet, with changes",
        [
            "llama-3.1-70b",
            "--gpu",
            "rtx-4090",
            "--nodes",
            "2",
            "--network",
            "eth-100",
            "--layout",
            "auto",
            "--seq",
            "8192",
        ],
    ),
    (
        "8B auto with alternatives",
        [
            "llama-3.1-8b",
            "--gpu",
            "h100-sxm-80gb",
            "--nodes",
            "2",
            "--network",
            "ib-ndr",
            "--layout",
            "auto",
            "--seq",
            "8192",
        ],
    ),
    (
        "interleaved, one node",
        ["llama-3.1-8b", "--gpu", "a100-sxm-80gb", "--layout", "tp=2,pp=2,v=2,mb=4,shard=zero1"],
    ),
]


def data_words(doc: dict) -> list[str]:
    """Names and codes the document holds: model, cards, networks, layout texts."""
    words = [doc["model"]["name"], doc["model"]["model_type"], *SHARDINGS, *SCHEDULES]
    for c in doc["cards"]:
        cl = c["cluster"]
        words += [c["name"], cl["layout"]["text"], str(cl["network"])]
        words += [a["layout"]["text"] for a in cl["alternatives"]]
        words += [ch["layout"]["text"] for ch in cl["changes"]]
    words += [n.name for n in networks().values()]
    return words


def plan(cli, args, *more):
    r = cli("plan", *args, *more)
    assert r.code == 0, r.err
    return r


@pytest.mark.parametrize("args", [a for _, a in SPREAD], ids=[n for n, _ in SPREAD])
def test_cluster_plan_in_chinese_leaves_no_english_and_lines_up(cli, args):
    doc = plan(cli, args, "--json").json()
    out = plan(cli, args, "--lang", "zh").out
    assert CJK.search(out)
    assert leftover_english(out, data_words(doc)) == []
    assert table_lines_aligned(out) == []
    assert table_lines_aligned(plan(cli, args).out) == []


@pytest.mark.parametrize("args", [a for _, a in SPREAD], ids=[n for n, _ in SPREAD])
def test_cluster_json_in_chinese_has_the_same_keys_and_numbers(cli, args):
    en = plan(cli, args, "--json").json()
    zh = plan(cli, args, "--json", "--lang", "zh").json()
    en_leaves = strings_at(en["cards"][0]["cluster"])
    zh_leaves = strings_at(zh["cards"][0]["cluster"])
    assert [p for p, _ in en_leaves] == [p for p, _ in zh_leaves]
    for (path, a), (_, b) in zip(en_leaves, zh_leaves, strict=True):
        key = re.sub(r"\[\d+\]", "", path).rsplit(".", 1)[-1]
        if key in PROSE and isinstance(a, str):
            assert CJK.search(b), (path, b)
            assert leftover_english(b, data_words(en)) == [], (path, b)
        else:
            assert a == b, (path, a, b)


def _bad() -> st.SearchStrategy[list[str]]:
    text = st.text(alphabet=st.sampled_from(list("0123456789tpcvmb=,x-² ")), min_size=1, max_size=8)
    return st.one_of(
        st.tuples(st.just("--nodes"), st.sampled_from(["0", "65", "-1", "x", "²", "1.5"])),
        st.tuples(st.just("--nics"), st.sampled_from(["0", "17", "a"])),
        st.tuples(st.just("--network"), st.sampled_from(["ib-xdr", "ETH", "roce"])),
        st.tuples(st.just("--layout"), text),
    ).map(list)


@fixture_ok
@given(flag=_bad())
def test_malformed_cluster_flags_are_one_chinese_line(cli, flag):
    args = ["plan", "llama-3.2-1b", "--gpu", "h100-sxm-80gb", "--seq", "512"]
    if flag[0] != "--network":
        args += ["--network", "ib-ndr"]
    if flag[0] not in ("--nodes",):
        args += ["--nodes", "2"]
    r = cli(*args, f"{flag[0]}={flag[1]}", "--lang", "zh", "--json")
    if r.code == 0:  # a layout that is fine after all
        return
    one_line(r)
    said = r.err.split("：", 1)[1]
    assert CJK.search(said), r.err
    names = [flag[1], *flag[1].split(","), *networks(), *SHARDINGS, *SCHEDULES]
    assert leftover_english(said, names) == [], r.err
