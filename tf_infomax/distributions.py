"""The model's distributions, all from TensorFlow Probability.

q(z|x) is a diagonal Gaussian, p(z) = N(0, I), and p(x|z) a Bernoulli on logits (for images in
[0, 1]) or a Gaussian with a learned global scale.
"""

from __future__ import annotations

import tensorflow as tf
import tensorflow_probability as tfp

tfd = tfp.distributions

LIKELIHOODS = ("bernoulli", "gaussian")


def posterior(mean: tf.Tensor, log_var: tf.Tensor) -> tfd.Distribution:
    """q(z|x) = N(mean, diag(exp(log_var)))."""
    return tfd.MultivariateNormalDiag(loc=mean, scale_diag=tf.exp(0.5 * log_var))


def prior(latent_dim: int, dtype: tf.DType = tf.float32) -> tfd.Distribution:
    """p(z) = N(0, I)."""
    return tfd.MultivariateNormalDiag(loc=tf.zeros([latent_dim], dtype=dtype))


def likelihood(
    name: str, params: tf.Tensor, log_scale: tf.Tensor | None = None
) -> tfd.Distribution:
    """p(x|z) over whole images (the H, W, C axes form one event).

    Args:
        name: ``"bernoulli"`` (``params`` are logits) or ``"gaussian"`` (``params`` are means
            and ``log_scale`` the log standard deviation).
        params: decoder output, shape (batch, H, W, C).
        log_scale: scalar, required for ``"gaussian"``.
    """
    if name == "bernoulli":
        pixel = tfd.Bernoulli(logits=params, dtype=params.dtype)
    elif name == "gaussian":
        pixel = tfd.Normal(loc=params, scale=tf.exp(log_scale))
    else:
        raise ValueError(f"Unknown likelihood {name!r}; choose one of {LIKELIHOODS}.")
    return tfd.Independent(pixel, reinterpreted_batch_ndims=3)


def likelihood_mean(name: str, params: tf.Tensor) -> tf.Tensor:
    """E[x|z]: sigmoid(logits) for Bernoulli, the mean for Gaussian."""
    return tf.sigmoid(params) if name == "bernoulli" else params
