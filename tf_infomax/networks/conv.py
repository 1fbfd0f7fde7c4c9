"""Convolutional inference and generative networks (paper, Table 5 bottom, MNIST-sized)."""

from __future__ import annotations

import math
from collections.abc import Sequence

import keras

MNIST_ENCODER_FILTERS = (28, 28, 56, 118)
MNIST_DECODER_FILTERS = (118, 118, 56, 28, 28)


def conv_encoder(
    input_shape: tuple[int, int, int],
    latent_dim: int,
    *,
    filters: Sequence[int] = MNIST_ENCODER_FILTERS,
    activation: str = "relu",
) -> keras.Model:
    """x -> [4x4 conv, stride 2] per entry of ``filters`` -> FC 2 x latent_dim."""
    inputs = keras.Input(input_shape, name="images")
    x = inputs
    for i, width in enumerate(filters):
        x = keras.layers.Conv2D(width, 4, strides=2, padding="same", name=f"encoder_conv_{i}")(x)
        x = keras.layers.Activation(activation, name=f"encoder_act_{i}")(x)
    x = keras.layers.Flatten(name="flatten")(x)
    params = keras.layers.Dense(2 * latent_dim, name="posterior_params")(x)
    return keras.Model(inputs, params, name="conv_encoder")


def conv_decoder(
    output_shape: tuple[int, int, int],
    latent_dim: int,
    *,
    filters: Sequence[int] = MNIST_DECODER_FILTERS,
) -> keras.Model:
    """z -> 1x1 conv filters[0] -> [4x4 upconv, stride 2] per later entry -> 4x4 conv to C.

    The first layer maps z to a start x start map (start = ceil(H / 2^n_upconv): 1 x 1 for
    32 x 32 images, as in the tables, 2 x 2 for 28 x 28); the upsampled map is centre-cropped to
    H x W (32 -> 28), and a final 4x4 convolution gives the per-pixel likelihood parameters.
    """
    height, width, channels = output_shape
    n_up = len(filters) - 1
    start = math.ceil(max(height, width) / 2**n_up)
    inputs = keras.Input((latent_dim,), name="z")
    x = keras.layers.Dense(start * start * filters[0], activation="relu", name="decoder_1x1")(
        inputs
    )
    x = keras.layers.Reshape((start, start, filters[0]), name="decoder_reshape")(x)
    for i, width_i in enumerate(filters[1:]):
        x = keras.layers.Conv2DTranspose(
            width_i, 4, strides=2, padding="same", activation="relu", name=f"decoder_upconv_{i}"
        )(x)
    size = start * 2**n_up
    crop_h, crop_w = size - height, size - width
    if crop_h or crop_w:
        x = keras.layers.Cropping2D(
            ((crop_h // 2, crop_h - crop_h // 2), (crop_w // 2, crop_w - crop_w // 2)),
            name="decoder_crop",
        )(x)
    outputs = keras.layers.Conv2D(channels, 4, padding="same", name="image_params")(x)
    return keras.Model(inputs, outputs, name="conv_decoder")
