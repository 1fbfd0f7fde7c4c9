#!/usr/bin/env bash
# Re-run the whole Fashion-MNIST study (Tables 2-3, the training-length check, the IWAE-K check
# and the 2-D latent study), resumably, then re-make docs/results/fashion_mnist.md.
# Runs land in ${ROOT:-runs}/; re-running continues (finished runs are skipped).
# Evaluation settings are sized for a 2-core CPU (see docs/results/fashion_mnist.md).
set -euo pipefail
cd "$(dirname "$0")/.."
export TF_CPP_MIN_LOG_LEVEL=2
root="${ROOT:-runs}"
results=docs/results/fashion_mnist.json
eval_args=(--iw-samples "${IW_SAMPLES:-1000}" --iw-limit "${IW_LIMIT:-2000}" \
  --mi-steps "${MI_STEPS:-2000}" --probe-epochs "${PROBE_EPOCHS:-50}")
.venv/bin/tf-infomax reproduce fashion_mnist_tables --root "$root/fashion_mnist_tables" \
  --results "$results" "${eval_args[@]}" "$@"
.venv/bin/tf-infomax reproduce fashion_mnist_2d --root "$root/fashion_mnist_2d" \
  --results "$results" "${eval_args[@]}"
.venv/bin/tf-infomax reproduce fashion_mnist_long --root "$root/fashion_mnist_long" \
  --results "$results" "${eval_args[@]}"
tables="$root/fashion_mnist_tables"
.venv/bin/python -m trainers.iwae_k "$tables"/{vae,infomax-vae}_d2_s0 "$tables"/{vae,infomax-vae}_d4_s0 \
  --k 100 1000 5000 --limit "${IWAE_K_LIMIT:-500}" --out docs/results/fashion_mnist_iwae_k.json
.venv/bin/tf-infomax report --results "$results" --out docs/results/fashion_mnist.md
