"""CelebA networks (paper, Table 8): 64 x 64 x 3 images, z_dim 100."""

from __future__ import annotations

from collections.abc import Sequence

import keras

from tf_infomax.networks.strided import strided_decoder, strided_encoder

CELEBA_IMAGE_SHAPE = (64, 64, 3)
CELEBA_LATENT_DIM = 100
CELEBA_ENCODER_FILTERS = (32, 64, 128, 256)
CELEBA_NEGATIVE_SLOPE = 0.2
CELEBA_DECODER_START = 256
CELEBA_DECODER_FILTERS = (128, 128, 64, 32, 32)
# The authors' CelebA critic: 12288 + z -> 2000 -> 1000 -> 100 -> 10 -> 1.
CELEBA_CRITIC_UNITS = (2000, 1000, 100, 10)
CELEBA_WEIGHTS = {"alpha": 10.0, "beta": 1.0}  # Table 8 caption


def celeba_encoder(
    input_shape: tuple[int, int, int] = CELEBA_IMAGE_SHAPE,
    latent_dim: int = CELEBA_LATENT_DIM,
    *,
    filters: Sequence[int] = CELEBA_ENCODER_FILTERS,
) -> keras.Model:
    """x -> 4x4 conv 32, 64, 128, 256 LeakyReLU(0.2), stride 2 -> 4x4 conv 2 x z_dim."""
    return strided_encoder(
        input_shape,
        latent_dim,
        filters=filters,
        negative_slope=CELEBA_NEGATIVE_SLOPE,
        name="celeba_encoder",
    )


def celeba_decoder(
    output_shape: tuple[int, int, int] = CELEBA_IMAGE_SHAPE,
    latent_dim: int = CELEBA_LATENT_DIM,
    *,
    start_filters: int = CELEBA_DECODER_START,
    filters: Sequence[int] = CELEBA_DECODER_FILTERS,
) -> keras.Model:
    """z -> 1x1 conv 256 -> 4x4 upconv 128, 128, 64, 32, 32 ReLU, stride 2 -> 4x4 upconv 3."""
    return strided_decoder(
        output_shape,
        latent_dim,
        start_filters=start_filters,
        filters=filters,
        name="celeba_decoder",
    )
