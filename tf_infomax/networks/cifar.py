"""CIFAR-10/100 networks (paper, Table 6): 32 x 32 x 3 images, z_dim 100, 200 or 500."""

from __future__ import annotations

from collections.abc import Sequence

import keras

from tf_infomax.networks.strided import strided_decoder, strided_encoder

CIFAR_IMAGE_SHAPE = (32, 32, 3)
CIFAR_ENCODER_FILTERS = (32, 32, 64, 128)
CIFAR_DECODER_START = 128
CIFAR_DECODER_FILTERS = (128, 64, 64, 32)
# The authors' CIFAR critic: 3072 + z -> 4000 -> 1000 -> 100 -> 1.
CIFAR_CRITIC_UNITS = (4000, 1000, 100)
CIFAR_WEIGHTS = {"alpha": 10.0, "beta": 0.1}  # Table 6 caption


def cifar_encoder(
    input_shape: tuple[int, int, int] = CIFAR_IMAGE_SHAPE,
    latent_dim: int = 100,
    *,
    filters: Sequence[int] = CIFAR_ENCODER_FILTERS,
) -> keras.Model:
    """x -> 4x4 conv 32, 32, 64, 128 ReLU, stride 2 -> 4x4 conv 2 x z_dim, stride 1."""
    return strided_encoder(input_shape, latent_dim, filters=filters, name="cifar_encoder")


def cifar_decoder(
    output_shape: tuple[int, int, int] = CIFAR_IMAGE_SHAPE,
    latent_dim: int = 100,
    *,
    start_filters: int = CIFAR_DECODER_START,
    filters: Sequence[int] = CIFAR_DECODER_FILTERS,
) -> keras.Model:
    """z -> 1x1 conv 128 -> 4x4 upconv 128, 64, 64, 32 ReLU, stride 2 -> 4x4 upconv 3."""
    return strided_decoder(
        output_shape, latent_dim, start_filters=start_filters, filters=filters, name="cifar_decoder"
    )
