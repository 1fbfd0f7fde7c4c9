#!/usr/bin/env bash
# The longer fault-injection run: tests/test_faults.py (kill -9 during epoch 1, at an epoch
# boundary, mid-epoch 2, during the final save, during export and during evaluate) with more
# epochs per training (FAULT_EPOCHS, default 8), printing a line per kill point.
set -euo pipefail
cd "$(dirname "$0")/.."
FAULT_EPOCHS="${FAULT_EPOCHS:-8}" TF_CPP_MIN_LOG_LEVEL=2 .venv/bin/python -m pytest -v \
  tests/test_faults.py "$@"
