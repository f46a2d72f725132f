"""docs/multi-node.md and its Chinese version show what scripts/cluster_table.py computes."""

from __future__ import annotations

import re
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "scripts"))
import cluster_table  # noqa: E402

DOCS = cluster_table.DOCS


@pytest.fixture(autouse=True)
def _no_user_file(monkeypatch, tmp_path):
    monkeypatch.delenv("GPUWISE_CATALOG", raising=False)
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "none"))


def _block(text: str, name: str) -> str:
    m = re.search(rf"<!-- {name}:start -->\n(.*?)\n<!-- {name}:end -->", text, re.S)
    assert m, name
    return m.group(1)


@pytest.mark.parametrize("lang", ["en", "zh"])
def test_the_docs_tables_are_the_scripts_output(lang):
    text = DOCS[lang].read_text(encoding="utf-8")
    blocks = cluster_table.blocks(lang)
    assert sorted(blocks) == ["cluster_fit", "cluster_published", "cluster_table"]
    for name, generated in blocks.items():
        # after a change to the model: python scripts/cluster_table.py --write
        assert _block(text, name) == generated, (lang, name)


def test_the_table_has_every_job_and_cluster_the_issue_asks():
    rows = cluster_table.rows()
    assert len(rows) == 2 * 2 * 4
    seen = {(r["job"], r["card"], r["nodes"]) for r in rows}
    assert len(seen) == 16
    # the 8B pre-training fits every H100 cluster; the 70B full fine-tune no single node of 80 GB
    for r in rows:
        if r["job"] == "8b_pretrain" and "H100" in r["card"]:
            assert r["best"] is not None and 0.2 < r["best"]["mfu"] < 0.6
        if r["job"] == "70b_full" and r["nodes"] == 1:
            assert r["best"] is None
