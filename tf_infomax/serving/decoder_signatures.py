"""Serving functions of an exported decoder p(x|z): codes or a seed in, images out.

* ``decode`` (also ``serving_default``): ``z`` float32 (B, latent) -> ``images``, E[x|z] of
  shape (B, H, W, C) (Bernoulli likelihood: pixel probabilities in [0, 1]).
* ``generate``: ``seed`` and ``num`` (int64 scalars; one-element vectors are accepted, so the
  signature declares them of unknown rank) -> ``num`` draws ``z ~ N(0, I)`` and their
  ``images``: exactly ``InfoMaxVAE.sample(num, seed)``, the same for the same seed on any server.

Only TensorFlow ops are used, so the SavedModel loads without TFP, Keras or tf_infomax.
Autoregressive decoders (PixelCNN) need the image to decode and are not exported.
"""

from __future__ import annotations

import numpy as np
import tensorflow as tf

from tf_infomax import distributions
from tf_infomax.serving.signatures import IMAGES, SEED, Endpoint, Z

NUM = "num"
DECODE, GENERATE = "decode", "generate"
DECODER_SIGNATURE_NAMES = ("serving_default", DECODE, GENERATE)


def _check_codes(z: tf.Tensor, latent_dim: int) -> tf.Tensor:
    """Runtime shape check, for callers that bypass the signature's shape (TF Serving)."""
    shape = tf.shape(z)
    ok = tf.logical_and(tf.equal(tf.size(shape), 2), tf.equal(shape[-1], latent_dim))
    return tf.debugging.Assert(
        ok, [f"z must have shape (batch, {latent_dim}); got shape:", shape], name="check_shape"
    )


def _scalar(value: tf.Tensor, name: str) -> tf.Tensor:
    """A scalar input; a one-element vector (REST row format, some clients) is accepted too."""
    check = tf.debugging.Assert(
        tf.equal(tf.size(value), 1), [f"{name} must be one integer; got shape:", tf.shape(value)]
    )
    with tf.control_dependencies([check]):
        return tf.reshape(value, [])


def make_decoder_endpoints(model) -> dict[str, Endpoint]:
    """``decode`` and ``generate`` of an ``InfoMaxVAE`` whose decoder maps z to images."""
    if model.decoder_conditions_on_x:
        raise ValueError(
            "This model's decoder is autoregressive (it needs the image to decode), so it has "
            "no decode/generate signatures; export it without --with-decoder."
        )
    decoder, latent_dim, likelihood = model.decoder, model.latent_dim, model.likelihood_name

    def means(z):
        params = decoder(z, training=False)
        return tf.identity(distributions.likelihood_mean(likelihood, params), name=IMAGES)

    def decode(z):
        with tf.control_dependencies([_check_codes(z, latent_dim)]):
            return {IMAGES: means(tf.identity(z))}

    def generate(seed, num):
        seed, num = _scalar(seed, SEED), _scalar(num, NUM)
        check = tf.debugging.Assert(num >= 0, ["num must be >= 0; got", num], name="check_num")
        with tf.control_dependencies([check]):
            shape = tf.stack([num, tf.constant(latent_dim, tf.int64)])
        z = tf.random.stateless_normal(shape, seed=tf.stack([seed, tf.constant(0, tf.int64)]))
        return {Z: tf.identity(z, name=Z), IMAGES: means(z)}

    z_spec = tf.TensorSpec((None, latent_dim), tf.float32, name=Z)
    # Unknown rank, not (): TF Serving feeds tensors of any shape, and with a static shape ()
    # the size check of _scalar would be folded away at trace time, never seeing a bad feed.
    scalar = [tf.TensorSpec(None, tf.int64, name=SEED), tf.TensorSpec(None, tf.int64, name=NUM)]
    return {
        "serving_default": Endpoint(decode, [z_spec]),
        DECODE: Endpoint(decode, [z_spec]),
        GENERATE: Endpoint(generate, scalar),
    }


def request_inputs(
    signature: str, latent_dim: int, n: int = 1, seed: int | None = None
) -> dict[str, np.ndarray]:
    """Named inputs of a request to the decoder: ``n`` codes z ~ N(0, I) drawn with numpy from
    ``seed`` (``decode``), or ``seed`` (default 0) and ``num = n`` (``generate``)."""
    if signature == GENERATE:
        return {SEED: np.int64(0 if seed is None else seed), NUM: np.int64(n)}
    if signature not in DECODER_SIGNATURE_NAMES:
        raise ValueError(
            f"Unknown decoder signature {signature!r}; choose one of {DECODER_SIGNATURE_NAMES}."
        )
    return {Z: np.random.default_rng(seed).standard_normal((n, latent_dim), np.float32)}
