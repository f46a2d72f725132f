"""The tables of docs/multi-node.md (and its Chinese version): Llama-3.1-70B full fine-tuning and
Llama-3.1-8B pre-training at 8k context on 1, 2, 4 and 8 nodes of 8 x H100 SXM (NVSwitch,
InfiniBand NDR) and of 8 x RTX 4090 (PCIe, 100 GbE), each with the fastest layout that fits
(``--layout auto``), and published MFU of comparable runs beside gpuwise's for the same runs.

    .venv/bin/python scripts/cluster_table.py            # English tables
    .venv/bin/python scripts/cluster_table.py --lang zh  # Chinese tables
    .venv/bin/python scripts/cluster_table.py --write    # both, into the two docs

tests/cluster/test_cluster_table_doc.py holds the docs' tables equal to this output.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "scripts"))

#: (job key, model, workload fields, sequences per optimizer step)
JOBS: list[tuple[str, str, dict[str, Any], int]] = [
    (
        "70b_full",
        "llama-3.1-70b",
        {"batch": 1, "seq": 8192, "precision": "amp-bf16", "grad_checkpointing": True},
        64,
    ),
    (
        "8b_pretrain",
        "llama-3.1-8b",
        {"batch": 1, "seq": 8192, "precision": "amp-bf16", "grad_checkpointing": True},
        128,
    ),
]
CLUSTERS = [("h100-sxm-80gb", "ib-ndr"), ("rtx-4090", "eth-100")]
NODES = (1, 2, 4, 8)
#: Published rows shown beside the table (ids in tests/accuracy/published/cluster_mfu.json).
COMPARED = (
    "torchtitan-8b-8",
    "torchtitan-8b-128",
    "foundry-h100-7b-8k-8",
    "foundry-h100-70b-2k-64",
    "foundry-h100-70b-2k-128",
    "megatron-70b",
)

WORDS = {
    "en": {
        "70b_full": "Llama-3.1-70B full fine-tune",
        "8b_pretrain": "Llama-3.1-8B pre-training",
        "head": "| Job | Cluster | Layout (`--layout`) | GiB/GPU | Step s | Tokens/s | MFU (range) "
        "| USD per 1B tokens |",
        "no_fit": "no layout fits",
        "cmp_head": "| Published run | Model | GPUs | Layout | Seq | Published MFU | gpuwise MFU |",
        "tps": "from {tps:,} tokens/s/GPU",
        "fit_head": "| Row | Split | Published MFU | gpuwise MFU | Error |",
        "split": {"fit": "fit", "held-out": "held out"},
    },
    "zh": {
        "70b_full": "Llama-3.1-70B 全参数微调",
        "8b_pretrain": "Llama-3.1-8B 预训练",
        "head": "| 任务 | 集群 | 布局（`--layout`） | GiB/卡 | 每步秒数 | token/s | MFU（范围） "
        "| 每 10 亿 token 美元 |",
        "no_fit": "没有放得下的布局",
        "cmp_head": "| 公布的运行 | 模型 | 显卡数 | 布局 | 序列长度 | 公布的 MFU "
        "| gpuwise 的 MFU |",
        "tps": "由每卡 {tps:,} token/s 换算",
        "fit_head": "| 数据行 | 用途 | 公布的 MFU | gpuwise 的 MFU | 误差 |",
        "split": {"fit": "拟合", "held-out": "留出"},
    },
}


def _cluster(card: str, nodes: int, net: str) -> Any:
    from gpuwise.catalog import load_catalog
    from gpuwise.cluster import make_cluster
    from gpuwise.cluster.network import network

    return make_cluster(
        load_catalog(None).find(card), nodes, 8, network(net) if nodes > 1 else None
    )


def rows() -> list[dict[str, Any]]:
    """Every (job, cluster) of the table with its best layout's figures (None: nothing fits)."""
    from gpuwise.catalog import load_catalog
    from gpuwise.cluster.search import best_layouts
    from gpuwise.models import load_model
    from gpuwise.recommend.prices import load_prices
    from gpuwise.workload import Workload

    book = load_prices(None, "usd", load_catalog(None))
    out = []
    for job, model, fields, global_batch in JOBS:
        spec, w = load_model(model), Workload(**fields)
        for card, net in CLUSTERS:
            for nodes in NODES:
                cluster = _cluster(card, nodes, net)
                price = book.price(cluster.card)
                hourly = price.hourly if price is not None else None
                best = best_layouts(spec, w, cluster, top=1, global_batch=global_batch)
                row: dict[str, Any] = {
                    "job": job,
                    "card": cluster.card.name,
                    "nodes": nodes,
                    "network": net if nodes > 1 else None,
                    "best": None,
                }
                if best:
                    layout, mem, t, _ = best[0]
                    usd = None
                    if hourly is not None:
                        usd = hourly * cluster.world / t.tokens_per_s * 1e9 / 3600
                    row["best"] = {
                        "layout": layout.text(),
                        "gib": mem.total / 2**30,
                        "step_s": t.step_s,
                        "tokens_per_s": t.tokens_per_s,
                        "mfu": t.mfu,
                        "mfu_low": t.mfu * t.tokens_per_s_low / t.tokens_per_s,
                        "mfu_high": t.mfu * t.tokens_per_s_high / t.tokens_per_s,
                        "usd_per_1b": usd,
                    }
                out.append(row)
    return out


def table(lang: str = "en") -> str:
    """The main table as Markdown."""
    words = WORDS[lang]
    lines = [words["head"], "|" + "---|" * 8]
    for r in rows():
        net = f", {r['network']}" if r["network"] else ""
        where = f"{r['nodes']} x 8 {r['card']}{net}"
        b = r["best"]
        if b is None:
            lines.append(f"| {words[r['job']]} | {where} | {words['no_fit']} | | | | | |")
            continue
        usd = "—" if b["usd_per_1b"] is None else f"{b['usd_per_1b']:,.0f}"
        lines.append(
            f"| {words[r['job']]} | {where} | `{b['layout']}` | {b['gib']:.1f} | "
            f"{b['step_s']:.2f} | {b['tokens_per_s']:,.0f} | {b['mfu']:.0%} "
            f"({b['mfu_low']:.0%}–{b['mfu_high']:.0%}) | {usd} |"
        )
    return "\n".join(lines)


def comparison(lang: str = "en") -> str:
    """Published runs beside gpuwise's MFU for the same model, cards, layout and batch."""
    import cluster_fit

    words = WORDS[lang]
    data = json.loads(cluster_fit.ROWS.read_text(encoding="utf-8"))
    by_id = {r["id"]: r for r in data["rows"]}
    lines = [words["cmp_head"], "|" + "---|" * 7]
    for rid in COMPARED:
        r = by_id[rid]
        t = cluster_fit.timed(r)
        pub = cluster_fit.published_mfu(r, t)
        said = f"{pub:.1%}"
        if "mfu" not in r["published"]:
            said += " (" + words["tps"].format(tps=r["published"]["tokens_per_s_per_gpu"]) + ")"
        lay = r["layout"]
        gpus = lay["tp"] * lay["pp"] * lay["cp"] * lay["dp"]
        shape = f"tp={lay['tp']},pp={lay['pp']},dp={lay['dp']},{lay['sharding']}"
        model = r["model"] if isinstance(r["model"], str) else r["model"]["name"]
        lines.append(
            f"| [{r['source']}]({r['url']}) | {model.removeprefix('preset:')} | {gpus} | "
            f"`{shape}` | {r['workload']['seq']} | {said} | {t.mfu:.1%} |"
        )
    return "\n".join(lines)


def fit_rows(lang: str = "en") -> str:
    """Every fit and held-out row of cluster_mfu.json: published MFU, gpuwise's, the error."""
    import cluster_fit

    words = WORDS[lang]
    lines = [words["fit_head"], "|" + "---|" * 5]
    for split in ("fit", "held-out"):
        for r, ours, published in cluster_fit.errors():
            if r["split"] == split:
                lines.append(
                    f"| `{r['id']}` | {words['split'][split]} | {published:.1%} | {ours:.1%} | "
                    f"{ours / published - 1:+.0%} |"
                )
    return "\n".join(lines)


def blocks(lang: str = "en") -> dict[str, str]:
    """The generated blocks of the doc, by marker name."""
    return {
        "cluster_table": table(lang),
        "cluster_published": comparison(lang),
        "cluster_fit": fit_rows(lang),
    }


DOCS = {"en": ROOT / "docs" / "multi-node.md", "zh": ROOT / "docs" / "multi-node.zh-CN.md"}


def write() -> None:
    """Replace the generated blocks of both docs with this output."""
    import re

    for lang, path in DOCS.items():
        text = path.read_text(encoding="utf-8")
        for name, block in blocks(lang).items():
            marked = f"<!-- {name}:start -->\n{block}\n<!-- {name}:end -->"
            pattern = rf"<!-- {name}:start -->\n.*?\n<!-- {name}:end -->"
            text = re.sub(pattern, lambda _m, marked=marked: marked, text, flags=re.S)
        path.write_text(text, encoding="utf-8")


if __name__ == "__main__":
    sys.path.insert(0, str(ROOT / "src"))
    if "--write" in sys.argv:
        write()
    else:
        lang = "zh" if "--lang" in sys.argv and sys.argv[-1].startswith("zh") else "en"
        for name, text in blocks(lang).items():
            print(f"<!-- {name}:start -->\n{text}\n<!-- {name}:end -->\n")
