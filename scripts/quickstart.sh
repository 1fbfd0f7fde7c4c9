#!/usr/bin/env bash
# Install, then train InfoMax-VAE on (offline) Fashion-MNIST, evaluate it and export the encoder.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
export TF_CPP_MIN_LOG_LEVEL=2
out="${OUT:-runs/quickstart}"
.venv/bin/tf-infomax train --model infomax-vae --dataset fashion_mnist --arch fc \
  --latent-dim 20 --epochs "${EPOCHS:-2}" --batch-size 100 --limit "${LIMIT:-10000}" \
  --out "$out" --overwrite
if .venv/bin/tf-infomax evaluate --help >/dev/null 2>&1; then
  .venv/bin/tf-infomax evaluate "$out" --limit 2000 --iw-samples 100
fi
.venv/bin/tf-infomax export "$out" --to "$out/export"
