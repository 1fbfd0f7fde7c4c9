#!/usr/bin/env bash
# Re-run the whole Fashion-MNIST study (Tables 2-3 and the 2-D latent study), resumably, then
# re-make docs/results/fashion_mnist.md. Runs land in ${ROOT:-runs}/; re-running continues.
# Evaluation settings are sized for a 2-core CPU (see docs/results/fashion_mnist.md).
set -euo pipefail
cd "$(dirname "$0")/.."
export TF_CPP_MIN_LOG_LEVEL=2
root="${ROOT:-runs}"
results=docs/results/fashion_mnist.json
eval_args=(--iw-samples "${IW_SAMPLES:-100}" --iw-limit "${IW_LIMIT:-500}" \
  --mi-steps "${MI_STEPS:-1000}" --probe-epochs "${PROBE_EPOCHS:-20}")
.venv/bin/tf-infomax reproduce fashion_mnist_tables --root "$root/fashion_mnist_tables" \
  --results "$results" "${eval_args[@]}" "$@"
.venv/bin/tf-infomax reproduce fashion_mnist_2d --root "$root/fashion_mnist_2d" \
  --results "$results" "${eval_args[@]}"
.venv/bin/tf-infomax report --results "$results" --out docs/results/fashion_mnist.md
