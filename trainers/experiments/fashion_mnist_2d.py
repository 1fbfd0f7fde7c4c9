"""The 2-D latent study of Figure 2 on Fashion-MNIST: FC and conv, VAE vs InfoMax-VAE.

alpha = 10 for the FC nets and 20 for the conv nets, beta = 1 (Section 6.1).

Command:
    tf-infomax reproduce fashion_mnist_2d --root runs/fashion_mnist_2d
"""

from __future__ import annotations

from tf_infomax.training import TrainConfig

EPOCHS = 2


def get_config(smoke: bool = False) -> dict[str, TrainConfig]:
    runs: dict[str, TrainConfig] = {}
    for arch in ("fc", "conv"):
        for method in ("vae", "infomax-vae"):
            alpha = None if method == "vae" else (10.0 if arch == "fc" else 20.0)
            runs[f"{method}_{arch}_z2"] = TrainConfig.from_flat(
                model=method,
                dataset="sklearn_digits" if smoke else "fashion_mnist",
                arch=arch,
                latent_dim=2,
                alpha=alpha,
                epochs=1 if smoke else EPOCHS,
                batch_size=50 if smoke else 100,
                limit=200 if smoke else None,
                validation_limit=0,
            )
    return runs


def figures_for(run: str) -> tuple[str, ...]:
    """Figure 2: aggregated posterior against the prior, and latent codes coloured by class."""
    return ("aggregate_posterior", "latent_codes")
