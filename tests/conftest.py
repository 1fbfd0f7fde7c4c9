"""Shared test helpers: tiny models with distinct sizes so swapped axes fail."""

from __future__ import annotations

import os

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
# The package's default (tf_infomax/__init__.py); keras below imports TensorFlow first.
os.environ.setdefault("TF_ENABLE_ONEDNN_OPTS", "1")

import keras  # noqa: E402
import numpy as np  # noqa: E402
import pytest  # noqa: E402

from tf_infomax.models import InfoMaxVAE, method_weights  # noqa: E402
from tf_infomax.networks import MLPCritic, fc_decoder, fc_encoder  # noqa: E402

IMAGE_SHAPE = (6, 5, 1)
LATENT = 3


def tiny_model(method: str = "infomax-vae", *, estimator="f-kl", track_mi=False, seed=0, **kw):
    """An InfoMaxVAE of the given method on 6x5x1 images with 7-unit nets."""
    keras.utils.set_random_seed(seed)
    weights = method_weights(method, **kw)
    encoder = fc_encoder(IMAGE_SHAPE, LATENT, units=7, depth=2)
    decoder = fc_decoder(IMAGE_SHAPE, LATENT, units=7, depth=2)
    critic = MLPCritic((9, 4)) if (weights.alpha > 0 or track_mi) else None
    return InfoMaxVAE(
        encoder,
        decoder,
        critic,
        estimator=estimator,
        seed=seed,
        **weights.as_dict(),
    )


def tiny_images(n: int = 40, seed: int = 0) -> np.ndarray:
    return np.random.default_rng(seed).random((n, *IMAGE_SHAPE), dtype=np.float32)


@pytest.fixture
def images():
    return tiny_images()
