#!/usr/bin/env bash
# Install tf-infomax into .venv (created if missing) and, where possible, Debian's Fashion-MNIST.
# Usage: source-free; run as `bash scripts/setup.sh [extra]` (extra: pip extra, e.g. "test").
set -euo pipefail
cd "$(dirname "$0")/.."
extra="${1:-}"
if [ ! -d /usr/share/datasets/fashion-mnist ]; then
  if [ "$(id -u)" = 0 ]; then
    apt-get install -y dataset-fashion-mnist >/dev/null 2>&1 \
      || { apt-get update >/dev/null 2>&1 && apt-get install -y dataset-fashion-mnist >/dev/null; } \
      || echo "note: could not apt-get dataset-fashion-mnist; TFDS will download fashion_mnist"
  elif command -v sudo >/dev/null && sudo -n true 2>/dev/null; then
    sudo apt-get install -y dataset-fashion-mnist >/dev/null \
      || echo "note: could not apt-get dataset-fashion-mnist; TFDS will download fashion_mnist"
  else
    echo "note: not root; skipping 'apt-get install -y dataset-fashion-mnist'"
  fi
fi
[ -x .venv/bin/python ] || python3 -m venv .venv
.venv/bin/python -m pip install -q --upgrade pip
if [ -n "$extra" ]; then
  .venv/bin/python -m pip install -q -e ".[$extra]"
else
  .venv/bin/python -m pip install -q -e .
fi
