"""PixelVAE on a 2-core CPU (docs/results/pixelvae.md): binarized Fashion-MNIST, offline.

The ``pixelvae`` experiment reduced to what a CPU trains in minutes: VAE and InfoMax-VAE, the
first 6,000 training images, 5 epochs, PixelCNN layers of 16 maps (``CPU_TRAINING``), the same
evaluation and hooks.

Command:
    python -m trainers.experiments.pixelvae --out docs/results   (or: tf-infomax reproduce
    pixelvae_cpu --root runs/pixelvae_cpu --results runs/pixelvae_cpu/results.json)
"""

from __future__ import annotations

from tf_infomax.config import TrainConfig
from trainers.experiments.pixelvae import (
    after_evaluation,
    cpu_configs,
    evaluation,
    figures_for,
    report,
)
from trainers.experiments.pixelvae import get_config as _paper_config

__all__ = ["after_evaluation", "evaluation", "figures_for", "get_config", "report"]


def get_config(smoke: bool = False) -> dict[str, TrainConfig]:
    """The CPU runs (smoke: ``pixelvae``'s tiny variant)."""
    return _paper_config(smoke=True) if smoke else cpu_configs()
