"""recommend over clusters when no cluster fits: the change that makes one fit (checkpointing,
more nodes, both), found by searching again with the same sequences a step, and that search
run as the user would give it finds the cluster it names."""

from __future__ import annotations

import json
import re

import pytest

REC = ("recommend", "llama-3.1-70b", "--tokens", "1e10", "--seq", "8192", "--json")


def _doc(cli, *argv):
    r = cli(*REC, *argv)
    assert r.code == 0, r.err
    return json.loads(r.out)


@pytest.mark.parametrize("card", ["4090", "3060"])
def test_the_named_change_finds_the_named_cluster(cli, card):
    doc = _doc(cli, "--gpu", card, "--max-nodes", "1")
    assert doc["options"] == []
    said = [n for n in doc["notes"] if " it fits: " in n]
    assert len(said) == 1, doc["notes"]
    m = re.search(r"with (.+) it fits: (\d+) x 8 x .+, layout (\S+),", said[0])
    assert m, said[0]
    change, nodes, layout = m.group(1).split(), int(m.group(2)), m.group(3)
    again = _doc(cli, "--gpu", card, "--global-batch", str(doc["global_batch"]), *change)
    if "--max-nodes" not in change:
        again = _doc(cli, "--gpu", card, "--max-nodes", "1", *change)
    first = again["options"][0]
    assert first["fits"] and first["nodes"] == nodes and layout.startswith(first["layout"][:5])


def test_nothing_fits_says_so(cli):
    doc = _doc(cli, "--gpu", "1060", "--max-nodes", "1", "--batch", "64")
    assert doc["options"] == []
    assert any("--grad-checkpointing" in n and "64 nodes" in n for n in doc["notes"]), doc["notes"]
