#!/usr/bin/env bash
# Install with test extras, lint, and run the test suite (CPU-sized; under 10 minutes on 2 cores).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh test
.venv/bin/ruff check .
.venv/bin/ruff format --check .
TF_CPP_MIN_LOG_LEVEL=2 .venv/bin/python -m pytest -q --durations=15 "$@"
