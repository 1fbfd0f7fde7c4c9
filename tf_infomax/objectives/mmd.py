"""Maximum mean discrepancy between q(z) and p(z), the InfoVAE regularizer (Zhao et al., 2019)."""

from __future__ import annotations

import tensorflow as tf


def gaussian_kernel(a: tf.Tensor, b: tf.Tensor) -> tf.Tensor:
    """k(a_i, b_j) = exp(-||a_i - b_j||^2 / dim), the kernel of the InfoVAE reference code."""
    dim = tf.cast(tf.shape(a)[-1], a.dtype)
    sq_dist = (
        tf.reduce_sum(a**2, axis=-1)[:, None]
        + tf.reduce_sum(b**2, axis=-1)[None, :]
        - 2.0 * tf.matmul(a, b, transpose_b=True)
    )
    return tf.exp(-tf.maximum(sq_dist, 0.0) / dim)


def mmd(samples_q: tf.Tensor, samples_p: tf.Tensor) -> tf.Tensor:
    """Biased (V-statistic) MMD^2 estimate: E k(q,q') + E k(p,p') - 2 E k(q,p)."""
    return (
        tf.reduce_mean(gaussian_kernel(samples_q, samples_q))
        + tf.reduce_mean(gaussian_kernel(samples_p, samples_p))
        - 2.0 * tf.reduce_mean(gaussian_kernel(samples_q, samples_p))
    )
