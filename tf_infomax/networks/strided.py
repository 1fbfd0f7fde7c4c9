"""Strided 4x4 conv encoder and up-conv decoder of the paper's Tables 6 (CIFAR) and 8 (CelebA).

Both go down to, and start from, a 1 x 1 map: the encoder ends with a 4x4 stride-1 conv to
2 x z_dim on the last feature map (zero-padded to 4 x 4 when smaller, as a 4x4 conv with padding 1
does on CIFAR's 2 x 2 map), and the decoder's "1x1 conv" on z (a 1 x 1 x z_dim map) is a dense
layer. The decoder's last up-conv outputs the likelihood parameters (logits; the sigmoid of the
tables is applied by the likelihood).
"""

from __future__ import annotations

from collections.abc import Sequence

import keras

KERNEL = 4


def _activation(negative_slope: float, name: str) -> keras.layers.Layer:
    if negative_slope:
        return keras.layers.LeakyReLU(negative_slope=negative_slope, name=name)
    return keras.layers.ReLU(name=name)


def strided_encoder(
    input_shape: tuple[int, int, int],
    latent_dim: int,
    *,
    filters: Sequence[int],
    negative_slope: float = 0.0,
    name: str = "strided_encoder",
) -> keras.Model:
    """x -> [4x4 conv, stride 2] per entry of ``filters`` -> 4x4 conv to 2 x latent_dim (1 x 1).

    ``negative_slope`` > 0 uses LeakyReLU (Table 8), 0 ReLU (Table 6).
    """
    inputs = keras.Input(input_shape, name="images")
    x = inputs
    for i, width in enumerate(filters):
        x = keras.layers.Conv2D(width, KERNEL, strides=2, padding="same", name=f"encoder_conv_{i}")(
            x
        )
        x = _activation(negative_slope, f"encoder_act_{i}")(x)
    height, width = int(x.shape[1]), int(x.shape[2])
    if max(height, width) > KERNEL:
        raise ValueError(
            f"{input_shape[:2]} images leave a {height} x {width} map after {len(filters)} "
            f"stride-2 convs; the final {KERNEL}x{KERNEL} conv needs at most {KERNEL} x {KERNEL}."
        )
    pad_h, pad_w = KERNEL - height, KERNEL - width
    if pad_h or pad_w:
        x = keras.layers.ZeroPadding2D(
            ((pad_h // 2, pad_h - pad_h // 2), (pad_w // 2, pad_w - pad_w // 2)),
            name="encoder_pad",
        )(x)
    x = keras.layers.Conv2D(2 * latent_dim, KERNEL, name="encoder_conv_params")(x)
    params = keras.layers.Flatten(name="posterior_params")(x)
    return keras.Model(inputs, params, name=name)


def strided_decoder(
    output_shape: tuple[int, int, int],
    latent_dim: int,
    *,
    start_filters: int,
    filters: Sequence[int],
    name: str = "strided_decoder",
) -> keras.Model:
    """z -> 1x1 conv start_filters -> [4x4 upconv, stride 2] per entry of ``filters`` -> C.

    The map doubles at every up-conv, from 1 x 1 to 2^(len(filters) + 1) = H = W.
    """
    height, width, channels = output_shape
    size = 2 ** (len(filters) + 1)
    if (height, width) != (size, size):
        raise ValueError(
            f"{len(filters) + 1} stride-2 up-convs from 1 x 1 give {size} x {size} images, "
            f"not {height} x {width}."
        )
    inputs = keras.Input((latent_dim,), name="z")
    x = keras.layers.Dense(start_filters, activation="relu", name="decoder_1x1")(inputs)
    x = keras.layers.Reshape((1, 1, start_filters), name="decoder_reshape")(x)
    for i, width_i in enumerate(filters):
        x = keras.layers.Conv2DTranspose(
            width_i,
            KERNEL,
            strides=2,
            padding="same",
            activation="relu",
            name=f"decoder_upconv_{i}",
        )(x)
    outputs = keras.layers.Conv2DTranspose(
        channels, KERNEL, strides=2, padding="same", name="image_params"
    )(x)
    return keras.Model(inputs, outputs, name=name)
