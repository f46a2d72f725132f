#!/usr/bin/env bash
# Set up a virtual environment with the dev extra and run every check CI runs.
# torch is pinned to 2.13.0, the CPU build this project's machines carry; elsewhere pip fetches
# it from PyPI (use --index-url https://download.pytorch.org/whl/cpu for a small CPU build).
set -euo pipefail
cd "$(dirname "$0")/.."
python3 -m venv .venv
.venv/bin/python -m pip install -q --upgrade pip
.venv/bin/python -m pip install -q "torch==2.13.0" -e ".[dev]"
.venv/bin/ruff check src tests scripts
.venv/bin/ruff format --check src tests scripts
.venv/bin/mypy
.venv/bin/python -m pytest -q "$@"
