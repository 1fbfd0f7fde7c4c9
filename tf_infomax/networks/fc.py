"""Fully connected inference and generative networks (paper, Table 5 top)."""

from __future__ import annotations

import math

import keras


def _leaky_relu_stack(x, units: int, depth: int, prefix: str):
    for i in range(depth):
        x = keras.layers.Dense(units, name=f"{prefix}_dense_{i}")(x)
        x = keras.layers.LeakyReLU(negative_slope=0.2, name=f"{prefix}_lrelu_{i}")(x)
    return x


def fc_encoder(
    input_shape: tuple[int, int, int], latent_dim: int, *, units: int = 1000, depth: int = 4
) -> keras.Model:
    """x -> FC depth x units LeakyReLU(0.2) -> FC 2 x latent_dim (mean, log-variance)."""
    inputs = keras.Input(input_shape, name="images")
    x = keras.layers.Flatten(name="flatten")(inputs)
    x = _leaky_relu_stack(x, units, depth, "encoder")
    params = keras.layers.Dense(2 * latent_dim, name="posterior_params")(x)
    return keras.Model(inputs, params, name="fc_encoder")


def fc_decoder(
    output_shape: tuple[int, int, int], latent_dim: int, *, units: int = 1000, depth: int = 4
) -> keras.Model:
    """z -> FC depth x units LeakyReLU(0.2) -> FC prod(output_shape) likelihood parameters.

    ``depth`` is the number of hidden layers of the generative net (2, 4 or 10 in Tables 2-3).
    The output is logits (Bernoulli) or means (Gaussian); the sigmoid of Table 5 is applied by
    the likelihood.
    """
    inputs = keras.Input((latent_dim,), name="z")
    x = _leaky_relu_stack(inputs, units, depth, "decoder")
    x = keras.layers.Dense(math.prod(output_shape), name="likelihood_params")(x)
    outputs = keras.layers.Reshape(output_shape, name="image_params")(x)
    return keras.Model(inputs, outputs, name="fc_decoder")
