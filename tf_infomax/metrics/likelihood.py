"""Importance-weighted estimate of log p(x) (Burda et al., 2016), chunked over samples.

    log p(x) ~= log (1/K) sum_k p(x|z_k) p(z_k) / q(z_k|x),     z_k ~ q(z|x)

with log p(z_k) and log q(z_k|x) evaluated *per sample* (never the analytic KL, a known bug of
public InfoVAE code that makes the estimate wrong for every K > 1). The estimate is a lower
bound in expectation that increases with K towards log p(x); K = 1 gives the ELBO. Samples are
drawn ``max_pairs // batch`` at a time and combined with a running logsumexp, so memory does not
grow with K.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any, NamedTuple

import numpy as np
import tensorflow as tf

from tf_infomax.metrics.encodings import EncodeFn, as_encode_fn, iterate_images
from tf_infomax.metrics.metric import EvalContext, Metric
from tf_infomax.metrics.statistics import LOG_2PI, mean_and_stderr

DEFAULT_NUM_SAMPLES = 5000  # the standard K of Burda et al. (2016)
DEFAULT_MAX_PAIRS = 10_000  # (sample, example) pairs decoded at once

LogLikelihoodFn = Callable[[tf.Tensor, tf.Tensor], tf.Tensor]


class LogLikelihood(NamedTuple):
    """Per-example estimates (nats) and their summaries."""

    mean: float
    stderr: float
    elbo: float  # mean over examples of the average log weight (K = 1 in expectation)
    per_example: np.ndarray  # (N,) importance-weighted log p(x_n)
    num_samples: int

    @property
    def num_examples(self) -> int:
        return int(self.per_example.size)


def decoder_log_prob(model: Any) -> LogLikelihoodFn:
    """(x, z) -> log p(x|z) of a model whose ``decode`` returns a distribution over images.

    An autoregressive decoder (``model.decoder_conditions_on_x``) gets x too: its log p(x|z)
    is the exact product of the per-pixel conditionals.
    """
    if getattr(model, "decoder_conditions_on_x", False):
        return lambda x, z: model.decode(z, x).log_prob(x)
    return lambda x, z: model.decode(z).log_prob(x)


def _log_weights(
    log_likelihood_fn: LogLikelihoodFn,
    x: tf.Tensor,
    mean: tf.Tensor,
    log_var: tf.Tensor,
    noise: tf.Tensor,
) -> tf.Tensor:
    """log p(x|z) + log p(z) - log q(z|x) for z = mean + std * noise, shape (samples, batch)."""
    samples, batch, latent_dim = tf.shape(noise)[0], tf.shape(x)[0], tf.shape(mean)[-1]
    z = mean[None] + tf.exp(0.5 * log_var)[None] * noise
    log_q = -0.5 * tf.reduce_sum(noise**2 + log_var[None] + LOG_2PI, axis=-1)
    log_prior = -0.5 * tf.reduce_sum(z**2 + LOG_2PI, axis=-1)
    tiled_x = tf.reshape(
        tf.broadcast_to(x[None], tf.concat([[samples], tf.shape(x)], 0)),
        tf.concat([[samples * batch], tf.shape(x)[1:]], 0),
    )
    log_px_given_z = log_likelihood_fn(tiled_x, tf.reshape(z, [samples * batch, latent_dim]))
    return tf.reshape(log_px_given_z, [samples, batch]) + log_prior - log_q


def importance_weighted_log_likelihood(
    encode_fn: EncodeFn | Any,
    log_likelihood_fn: LogLikelihoodFn,
    dataset: tf.data.Dataset,
    *,
    num_samples: int = DEFAULT_NUM_SAMPLES,
    limit: int | None = None,
    seed: int = 0,
    max_pairs: int = DEFAULT_MAX_PAIRS,
    progress: Any = None,
) -> LogLikelihood:
    """IWAE estimate of log p(x) (nats) for each example of ``dataset``.

    Args:
        encode_fn: ``x -> (mean, log_var)`` of q(z|x), or a model with ``.encode``.
        log_likelihood_fn: ``(x, z) -> log p(x|z)``, one value per row (``decoder_log_prob``).
        dataset: batches of images, or of (images, labels).
        num_samples: K, importance samples per example.
        limit: evaluate the first ``limit`` examples only.
        seed: seed of the (stateless) samples, drawn per batch and chunk (the same seed,
            batches and ``max_pairs`` give the same estimate).
        max_pairs: bound on samples x batch decoded at once (memory).
        progress: a ``tf_infomax.progress.Progress`` in examples, told after each chunk of
            samples (a fraction of a batch), or None.
    """
    if num_samples < 1:
        raise ValueError(f"num_samples (K) must be >= 1, got {num_samples}.")
    encode = as_encode_fn(encode_fn)
    log_weights = tf.function(
        lambda x, m, v, e: _log_weights(log_likelihood_fn, x, m, v, e), reduce_retracing=True
    )
    per_example, elbo = [], []
    for batch_index, (images, _) in enumerate(iterate_images(dataset, limit)):
        x = tf.convert_to_tensor(images)
        mean, log_var = encode(x)
        batch = int(x.shape[0])
        chunk = max(1, min(num_samples, max_pairs // batch))
        running = tf.fill([batch], tf.constant(-np.inf, mean.dtype))
        weight_sum = tf.zeros([batch], mean.dtype)
        for start in range(0, num_samples, chunk):
            size = min(chunk, num_samples - start)
            noise = tf.random.stateless_normal(
                [size, batch, mean.shape[-1]],
                seed=[seed, batch_index * 1_000_003 + start],
                dtype=mean.dtype,
            )
            lw = log_weights(x, mean, log_var, noise)
            running = tf.reduce_logsumexp(tf.stack([running, tf.reduce_logsumexp(lw, 0)]), 0)
            weight_sum += tf.reduce_sum(lw, 0)
            if progress is not None:
                progress.update(batch * size / num_samples)
        per_example.append((running - math.log(num_samples)).numpy())
        elbo.append((weight_sum / num_samples).numpy())
    if not per_example:
        raise ValueError("The dataset is empty: nothing to evaluate.")
    values = np.concatenate(per_example).astype(np.float64)
    mean, stderr = mean_and_stderr(values)
    return LogLikelihood(
        mean=mean,
        stderr=stderr,
        elbo=float(np.concatenate(elbo).mean()),
        per_example=values,
        num_samples=int(num_samples),
    )


def _entry(context: EvalContext) -> dict:
    config, model = context.config, context.model
    limit = min(filter(None, (config.limit, config.iw_limit)), default=None)
    total = min(limit or context.codes.num_examples, context.codes.num_examples)
    with context.progress(total, "example") as progress:
        estimate = importance_weighted_log_likelihood(
            context.encode,
            decoder_log_prob(model),
            context.eval_data,
            num_samples=config.iw_samples,
            limit=limit,
            seed=config.seed,
            max_pairs=config.iw_max_pairs,
            progress=progress,
        )
    return {
        "value": estimate.mean,
        "stderr": estimate.stderr,
        "elbo": estimate.elbo,
        "num_samples": estimate.num_samples,
        "estimator": "importance-weighted log (1/K) sum_k p(x,z_k)/q(z_k|x), nats per image",
        "likelihood": getattr(model, "likelihood_name", None),
        "split": config.split,
        "num_examples": estimate.num_examples,
        "seed": config.seed,
    }


METRIC = Metric("log_likelihood", _entry)
