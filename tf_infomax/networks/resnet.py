"""The PixelVAE inference network: a 3-layer ResNet (paper, Section 6.3)."""

from __future__ import annotations

from collections.abc import Sequence

import keras

# Section 6.3 gives "a 3-layer ResNet" and no widths: three residual blocks, widths ours.
RESNET_FILTERS = (32, 64, 64)


def _residual_block(x, filters: int, name: str):
    """relu(conv3x3(relu(conv3x3/2(x))) + conv1x1/2(x)): a block that halves H and W."""
    h = keras.layers.Conv2D(filters, 3, strides=2, padding="same", name=f"{name}_conv_0")(x)
    h = keras.layers.ReLU(name=f"{name}_relu_0")(h)
    h = keras.layers.Conv2D(filters, 3, padding="same", name=f"{name}_conv_1")(h)
    shortcut = keras.layers.Conv2D(filters, 1, strides=2, name=f"{name}_shortcut")(x)
    x = keras.layers.Add(name=f"{name}_add")([h, shortcut])
    return keras.layers.ReLU(name=f"{name}_relu_1")(x)


def resnet_encoder(
    input_shape: tuple[int, int, int],
    latent_dim: int,
    *,
    filters: Sequence[int] = RESNET_FILTERS,
) -> keras.Model:
    """x -> one strided residual block per entry of ``filters`` -> FC 2 x latent_dim."""
    if not filters:
        raise ValueError("resnet_encoder needs at least one residual block.")
    inputs = keras.Input(input_shape, name="images")
    x = inputs
    for i, width in enumerate(filters):
        x = _residual_block(x, width, f"block_{i}")
    x = keras.layers.Flatten(name="flatten")(x)
    params = keras.layers.Dense(2 * latent_dim, name="posterior_params")(x)
    return keras.Model(inputs, params, name="resnet_encoder")
