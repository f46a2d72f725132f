#!/usr/bin/env bash
# Set up a virtual environment with the dev extra and run every check CI runs.
# torch is pinned to 2.13.0, the CPU build this project's machines carry; elsewhere pip fetches
# it from PyPI (use --index-url https://download.pytorch.org/whl/cpu for a small CPU build).
set -euo pipefail
cd "$(dirname "$0")/.."
python3 -m venv .venv
.venv/bin/python -m pip install -q --upgrade pip
.venv/bin/python -m pip install -q "torch==2.13.0" -e ".[dev,frameworks,cluster-check]"
# torchtitan's own config parser for the cluster launch files (tests/engines/test_cluster_emit.py),
# without the dependencies it pins (datasets < 4.8, wandb); what it imports is the cluster-check extra
.venv/bin/python -m pip install -q --no-deps "torchtitan==0.3.0"
# the parsers of LLaMA-Factory and axolotl, without the CUDA torch their dependencies pin (with
# the frameworks extra about 30 s on 2 cores; tests/engines/test_framework_configs.py)
.venv/bin/python -m pip install -q --no-deps "llamafactory==0.9.5" "axolotl==0.19.0" "addict>=2.4"
# llama.cpp itself, for tests/infer/test_llamacpp_real.py: llama-cpp-python compiles it for the CPU
# (no wheel on PyPI; without its multimodal library: 7.7 CPU-minutes, about 4 min on 2 idle
# cores, the first time, then pip's wheel cache; skipped when it is installed)
.venv/bin/python -c "import llama_cpp" 2>/dev/null ||
    CMAKE_ARGS="-DLLAVA_BUILD=OFF" .venv/bin/python -m pip install -q -e ".[llamacpp-check]"
.venv/bin/ruff check src tests scripts
.venv/bin/ruff format --check src tests scripts
.venv/bin/mypy
.venv/bin/python -m pytest -q "$@"
