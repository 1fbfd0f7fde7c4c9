"""Table 4: classification accuracy of frozen codes and active units on CIFAR-10 and CIFAR-100.

Table 6 networks (``--arch cifar``), z_dim 100, 200 and 500, VAE, beta-VAE, InfoVAE and
InfoMax-VAE (alpha = 10, beta = 0.1: Table 6 caption), the CIFAR critic 3072 + z -> 4000 ->
1000 -> 100 -> 1 and the Table 7 classifier as the probe. The paper gives neither the training
length nor the beta-VAE's beta; ours are ``EPOCHS`` and beta-VAE's default (4).

CIFAR cannot be downloaded in the sandbox this was written in; with internet (about 24 runs; a
GPU is advisable):
    tf-infomax reproduce table4_cifar --root runs/table4 --results runs/table4/results.json
The results rows hold ``probe_accuracy`` (linear and Table 7 MLP) and ``active_units``.
"""

from __future__ import annotations

from tf_infomax.networks.cifar import CIFAR_WEIGHTS
from tf_infomax.training import TrainConfig

EPOCHS = 50
DATASETS = ("cifar10", "cifar100")
LATENT_DIMS = (100, 200, 500)
METHODS = ("vae", "beta-vae", "infovae", "infomax-vae")


def _weights(method: str) -> dict:
    return dict(CIFAR_WEIGHTS) if method == "infomax-vae" else {}


def get_config(smoke: bool = False) -> dict[str, TrainConfig]:
    """Run name -> config. The smoke variant: one InfoMax-VAE on CIFAR-10, z_dim 4, 8 images."""
    if smoke:
        return {
            f"cifar10_z4_{method}": TrainConfig.from_flat(
                model=method,
                dataset="cifar10",
                arch="cifar",
                latent_dim=4,
                critic_units=(16,),
                epochs=1,
                batch_size=4,
                limit=8,
                validation_limit=0,
                **_weights(method),
            )
            for method in ("infomax-vae",)
        }
    return {
        f"{dataset}_z{latent}_{method}": TrainConfig.from_flat(
            model=method,
            dataset=dataset,
            arch="cifar",
            latent_dim=latent,
            epochs=EPOCHS,
            batch_size=100,
            **_weights(method),
        )
        for dataset in DATASETS
        for latent in LATENT_DIMS
        for method in METHODS
    }
