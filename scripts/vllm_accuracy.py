"""gpuwise's vLLM KV cache against vLLM's own startup logs (tests/infer/data/vllm_logs.json):
one markdown row per log, with the card, model, flags, vLLM's figure, gpuwise's, the error and
whether the row was held out (found after gpuwise's figures were set, used for none of them).

    .venv/bin/python scripts/vllm_accuracy.py
"""

from __future__ import annotations

import json
from pathlib import Path

from gpuwise.catalog import load_catalog, usable_memory
from gpuwise.infer.vllm import VllmSettings, vllm_memory
from gpuwise.models import load_model

ROWS = Path(__file__).resolve().parents[1] / "tests" / "infer" / "data" / "vllm_logs.json"
GIB = 1 << 30


def main() -> None:
    rows = json.loads(ROWS.read_text(encoding="utf-8"))["rows"]
    catalog = load_catalog(None)
    print(
        "| card | model (log) | vLLM | flags | log KV GiB | gpuwise KV GiB | error | held out "
        "| source |"
    )
    print("| --- | --- | --- | --- | ---: | ---: | ---: | :---: | --- |")
    for r in rows:
        spec = load_model(r["model"])
        card = catalog.find(r["card"])
        f = r["flags"]
        s = VllmSettings(
            gpu_memory_utilization=f["gpu_memory_utilization"],
            tensor_parallel=f["tensor_parallel"],
            max_num_batched_tokens=f["max_num_batched_tokens"],
            max_num_seqs=f["max_num_seqs"],
        )
        m = vllm_memory(spec, s, card, usable_memory(card).bytes, spec.params)
        ours = m.kv_cache_bytes / GIB
        flags = (
            f"util {f['gpu_memory_utilization']}, tp {f['tensor_parallel']}, "
            f"{f['max_num_batched_tokens']:,} batched tokens"
        )
        print(
            f"| {card.name} | {r['log_model']} | {r['vllm'].split(' (')[0]} | {flags} | "
            f"{r['kv_cache_gib']:.2f} | {ours:.2f} | {ours / r['kv_cache_gib'] - 1:+.0%} | "
            f"{'yes' if r.get('held_out') else ''} | [log]({r['url']}) |"
        )


if __name__ == "__main__":
    main()
