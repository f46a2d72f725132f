"""Latency of `gpuwise serve` on loopback: a bounded number of requests, p50 / p95 / max.

Starts ``gpuwise serve --port 0`` in its own process (the time until it answers is its start),
warms each endpoint up, then asks the API in turn with changed inputs, one request at a time
over one kept-alive connection, as the page does when a user changes a field:

- plan: llama-3.1-8b QLoRA and 7b LoRA over batch 1-4, sequence 1024/2048, one to three cards;
- recommend: the whole catalogue, a budget, LoRA / QLoRA;
- scatter: what the page asks after each plan for its chart of every card for this job
  (recommend with one card each, --max-gpus 1 --top 0: every card's option).

Budgets (README, "The web page": the page answers a changed input in under 50 ms server time):
plan p95 under 50 ms warm, recommend (and the scatter's recommend) under 300 ms.
Exit code 1 when a budget is missed. Usage: python scripts/bench_web.py [--requests 60]
"""

from __future__ import annotations

import argparse
import http.client
import itertools
import json
import os
import platform
import re
import subprocess
import sys
import time
from urllib.parse import urlencode

BUDGET_S = {"plan": 0.050, "recommend": 0.300, "scatter": 0.300}

PLANS = [
    {"model": m, "method": method, "batch": b, "seq": s, "gpu": g}
    for (m, method), b, s, g in itertools.product(
        [("llama-3.1-8b", "qlora"), ("7b", "lora")],
        [1, 2, 4],
        [1024, 2048],
        [["3090"], ["4090", "4060ti16"], ["3090", "a100-sxm-80gb", "h100-sxm-80gb"]],
    )
]
RECOMMENDS = [
    {"model": m, "method": method, "budget": budget, "currency": "usd", "top": 10}
    for m, method, budget in [
        ("llama-3.1-8b", "qlora", 1500),
        ("qwen2.5-7b", "lora", 3000),
        ("7b", "lora", 800),
        ("llama-3.1-8b", "lora", 6000),
    ]
]

SCATTERS = [
    {"model": m, "method": method, "currency": "usd", "max-gpus": 1, "top": 0}
    for m, method in [
        ("llama-3.1-8b", "qlora"),
        ("qwen2.5-7b", "lora"),
        ("7b", "lora"),
        ("llama-3.1-8b", "lora"),
    ]
]


def _start() -> tuple[subprocess.Popen[str], str, float]:
    began = time.perf_counter()
    process = subprocess.Popen(
        [sys.executable, "-m", "gpuwise", "serve", "--port", "0", "--lang", "en"],
        stdout=subprocess.PIPE,
        text=True,
    )
    assert process.stdout is not None
    line = process.stdout.readline()
    found = re.search(r"http://([^/\s]+):(\d+)/", line)
    if not found:
        raise SystemExit(f"gpuwise serve did not start: {line!r}")
    host, port = found.groups()
    connection = http.client.HTTPConnection(host, int(port), timeout=30)
    connection.request("GET", "/api/gpu?name=3090")
    connection.getresponse().read()
    return process, f"{host}:{port}", time.perf_counter() - began


def _ask(connection: http.client.HTTPConnection, command: str, fields: dict) -> float:
    query = urlencode(fields, doseq=True)
    began = time.perf_counter()
    connection.request("GET", f"/api/{command}?{query}")
    response = connection.getresponse()
    body = response.read()
    took = time.perf_counter() - began
    if response.status != 200:
        raise SystemExit(f"{command} {query}: {response.status} {body[:200]!r}")
    json.loads(body)
    return took


def _quantile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=60, help="timed requests per endpoint")
    parser.add_argument("--warmup", type=int, default=5, help="untimed requests per endpoint")
    args = parser.parse_args()
    if not 1 <= args.requests <= 1000 or not 0 <= args.warmup <= 100:
        parser.error("--requests is 1 to 1000, --warmup 0 to 100")
    process, address, start_s = _start()
    host, port = address.rsplit(":", 1)
    connection = http.client.HTTPConnection(host, int(port), timeout=60)
    missed = []
    try:
        import starlette
        import uvicorn

        import gpuwise

        print(
            f"gpuwise {gpuwise.__version__}, Python {platform.python_version()}, "
            f"starlette {starlette.__version__}, uvicorn {uvicorn.__version__}, "
            f"{platform.machine()} {platform.system()}, "
            f"{len(os.sched_getaffinity(0))} CPUs"
        )
        print(f"start: {start_s * 1000:.0f} ms until the first answer")
        print(f"{'endpoint':<10} {'n':>4} {'p50 ms':>8} {'p95 ms':>8} {'max ms':>8}  budget")
        endpoints = (
            ("plan", "plan", PLANS),
            ("recommend", "recommend", RECOMMENDS),
            ("scatter", "recommend", SCATTERS),
        )
        for name, command, cases in endpoints:
            for fields in cases[: args.warmup]:
                _ask(connection, command, fields)
            times = [_ask(connection, command, cases[i % len(cases)]) for i in range(args.requests)]
            p95 = _quantile(times, 0.95)
            budget = BUDGET_S.get(name)
            verdict = "" if budget is None else f"p95 < {budget * 1000:.0f} ms: "
            verdict += "" if budget is None else ("ok" if p95 < budget else "MISSED")
            if budget is not None and p95 >= budget:
                missed.append(name)
            print(
                f"{name:<10} {len(times):>4} {_quantile(times, 0.5) * 1000:>8.1f} "
                f"{p95 * 1000:>8.1f} {max(times) * 1000:>8.1f}  {verdict}"
            )
    finally:
        connection.close()
        process.terminate()
        process.wait(10)
    return 1 if missed else 0


if __name__ == "__main__":
    sys.exit(main())
