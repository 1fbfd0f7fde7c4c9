"""Serving functions of an exported encoder: tensors in, named tensors out.

Three endpoints, all keyed by the input name ``images`` (batch dimension unspecified):

* ``serving_default``: float32 images in [0, 1] -> ``mean``, ``log_var`` of q(z|x).
* ``sample``: the same plus ``z = mean + exp(log_var / 2) * eps``; ``seed`` (int64, one per
  image) makes ``eps`` reproducible (stateless sampling); a negative seed, or an empty ``seed``
  vector (its default), draws fresh noise.
* ``serving_uint8``: raw uint8 images 0..255, scaled to [0, 1] as the training pipeline does.

``log_var`` is the model's (``InfoMaxVAE.encode``: floored at ``min_log_var``). Only
TensorFlow ops are used, so the SavedModel loads without TFP, Keras or tf_infomax.

The ``seed`` default is recorded in the SignatureDef (TF Serving's gRPC and session clients may
leave it out), but Python's ``loaded.signatures["sample"]`` requires every input: call it as
``signatures["sample"](images=x, seed=tf.constant([], tf.int64))`` for fresh noise, or call the
restored function ``loaded.sample(x)`` / ``loaded.sample(x, seed)``, whose seed is optional.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import NamedTuple

import keras
import numpy as np
import tensorflow as tf

IMAGES, SEED = "images", "seed"
MEAN, LOG_VAR, Z = "mean", "log_var", "z"
DEFAULT, SAMPLE, UINT8 = "serving_default", "sample", "serving_uint8"
SIGNATURE_NAMES = (DEFAULT, SAMPLE, UINT8)


class Endpoint(NamedTuple):
    """A function to export and the ``tf.TensorSpec`` of each of its arguments."""

    fn: Callable[..., dict[str, tf.Tensor]]
    input_signature: list[tf.TensorSpec]


def image_spec(image_shape: tuple[int, int, int], dtype: tf.DType = tf.float32) -> tf.TensorSpec:
    return tf.TensorSpec((None, *image_shape), dtype, name=IMAGES)


def _check_shape(images: tf.Tensor, image_shape: tuple[int, int, int]) -> tf.Tensor:
    """Runtime shape check, for callers that bypass the signature's shape (TF Serving)."""
    expected = "(batch, " + ", ".join(str(d) for d in image_shape) + ")"
    shape = tf.shape(images)
    ok = tf.logical_and(
        tf.equal(tf.size(shape), 1 + len(image_shape)),
        tf.reduce_all(tf.equal(tf.pad(shape, [[0, 4]])[1:4], image_shape)),
    )
    return tf.debugging.Assert(
        ok,
        [f"images must have shape {expected} (NHWC); got shape:", shape],
        summarize=8,
        name="check_shape",
    )


def _check_unit_range(images: tf.Tensor) -> tf.Tensor:
    """NaN and values outside [0, 1] fail (NaN fails both comparisons)."""
    ok = tf.logical_and(
        tf.reduce_all(images >= 0.0), tf.reduce_all(images <= 1.0), name="in_unit_range"
    )
    return tf.debugging.Assert(
        ok,
        [
            "images must be float pixel values in [0, 1] without NaN (send raw 0..255 bytes to "
            f"the {UINT8!r} signature); min, max:",
            tf.reduce_min(images),
            tf.reduce_max(images),
        ],
        name="check_range",
    )


Posterior = Callable[[tf.Tensor], tuple[tf.Tensor, tf.Tensor]]


def split_posterior(encoder: keras.Model) -> Posterior:
    """images -> (mean, log_var) of a bare encoder: its output split in halves, unfloored."""

    def posterior(images):
        return tuple(tf.split(encoder(images, training=False), 2, axis=-1))

    return posterior


def _named(posterior: Posterior, images: tf.Tensor) -> dict[str, tf.Tensor]:
    mean, log_var = posterior(images)
    return {MEAN: tf.identity(mean, name=MEAN), LOG_VAR: tf.identity(log_var, name=LOG_VAR)}


def _noise(seed: tf.Tensor, batch: tf.Tensor, latent_dim: int) -> tf.Tensor:
    """N(0, I) rows: stateless from ``seed[i]`` where it is >= 0, fresh noise elsewhere."""
    seed = tf.reshape(seed, [-1])  # a scalar fed past the signature (gRPC) counts as one seed
    check = tf.debugging.Assert(
        tf.logical_or(tf.equal(tf.size(seed), 0), tf.equal(tf.size(seed), batch)),
        ["seed must hold one integer per image, or none; got sizes (seed, images):",
         tf.size(seed), batch],
        name="check_seed",
    )  # fmt: skip
    with tf.control_dependencies([check]):
        seed = tf.cond(
            tf.equal(tf.size(seed), 0),
            lambda: tf.fill([batch], tf.constant(-1, tf.int64)),
            lambda: tf.identity(seed),
        )
    zero = tf.constant(0, tf.int64)
    seeded = tf.map_fn(
        lambda s: tf.random.stateless_normal([latent_dim], seed=tf.stack([s, zero])),
        tf.maximum(seed, 0),
        fn_output_signature=tf.float32,
    )
    # seed = seed2 = 0: the kernel seeds itself at random, so fresh noise differs between
    # server processes even if a global seed was set when the signature was traced.
    fresh = tf.raw_ops.RandomStandardNormal(
        shape=tf.stack([batch, latent_dim]), dtype=tf.float32, seed=0, seed2=0
    )
    return tf.where(seed[:, None] >= 0, seeded, fresh)


def make_endpoints(encoder: keras.Model, posterior: Posterior | None = None) -> dict[str, Endpoint]:
    """The serving functions of ``encoder`` (images (B, H, W, C) -> (B, 2 * latent)).

    ``posterior`` maps images to (mean, log_var), e.g. ``InfoMaxVAE.encode`` (which floors the
    log-variance); it may use only ``encoder``'s variables. Default: ``split_posterior(encoder)``.
    """
    posterior = posterior or split_posterior(encoder)
    image_shape = tuple(int(d) for d in encoder.input_shape[1:])
    latent_dim = int(encoder.output_shape[-1]) // 2

    def encode(images):
        with tf.control_dependencies([_check_shape(images, image_shape)]):
            checked = _check_unit_range(images)  # after the shape check: reductions need rank 4
        with tf.control_dependencies([checked]):
            return _named(posterior, tf.identity(images))

    def encode_uint8(images):
        with tf.control_dependencies([_check_shape(images, image_shape)]):
            return _named(posterior, tf.cast(images, tf.float32) / 255.0)

    def sample(images, seed=tf.constant([], tf.int64)):  # noqa: B008 (a SignatureDef default)
        """mean, log_var and z; ``seed`` may be left out of ``loaded.sample(images)`` and of
        TF Serving requests, but ``loaded.signatures["sample"]`` needs it: pass
        ``seed=tf.constant([], tf.int64)`` (or -1 per image) there for fresh noise."""
        outputs = encode(images)
        eps = _noise(seed, tf.shape(images, out_type=tf.int32)[0], latent_dim)
        z = outputs[MEAN] + tf.exp(0.5 * outputs[LOG_VAR]) * eps
        return {**outputs, Z: tf.identity(z, name=Z)}

    float_spec = image_spec(image_shape)
    return {
        DEFAULT: Endpoint(encode, [float_spec]),
        SAMPLE: Endpoint(sample, [float_spec, tf.TensorSpec((None,), tf.int64, name=SEED)]),
        UINT8: Endpoint(encode_uint8, [image_spec(image_shape, tf.uint8)]),
    }


def request_inputs(
    raw: np.ndarray, signature: str, seed: int | None = None
) -> dict[str, np.ndarray]:
    """The named inputs of a request to ``signature`` for raw uint8 images (B, H, W, C).

    Float signatures get ``raw / 255`` (the training pipeline's scaling), ``serving_uint8`` the
    raw bytes; ``sample`` gets one seed per image, ``seed, seed + 1, ...`` (-1, fresh noise, for
    ``seed=None``). The dtypes are the signature's, as TF Serving requires.
    """
    if signature not in SIGNATURE_NAMES:
        raise ValueError(
            f"Unknown encoder signature {signature!r}; choose one of {SIGNATURE_NAMES}."
        )
    raw = np.asarray(raw, np.uint8)
    if signature == UINT8:
        return {IMAGES: raw}
    inputs = {IMAGES: raw.astype(np.float32) / np.float32(255)}
    if signature == SAMPLE:
        seeds = np.full(len(raw), -1) if seed is None else seed + np.arange(len(raw))
        inputs[SEED] = seeds.astype(np.int64)
    return inputs
