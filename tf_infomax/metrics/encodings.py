"""Posterior parameters of a whole dataset, collected batch by batch.

Every metric takes an *encode function* ``x -> (mean, log_var)`` of the diagonal Gaussian
q(z|x), so it runs the same on a live ``InfoMaxVAE`` (``model.encode``), a reloaded one, or a
closed-form encoder in a test. Images are streamed; only the (N, D) posterior parameters are
kept in memory (10,000 x 500 float32 values are 20 MB).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any, NamedTuple

import numpy as np
import tensorflow as tf

EncodeFn = Callable[[tf.Tensor], tuple[tf.Tensor, tf.Tensor]]


class Encodings(NamedTuple):
    """q(z|x_n) = N(mean[n], diag(exp(log_var[n]))) for each example n, with its label."""

    mean: np.ndarray  # (N, D)
    log_var: np.ndarray  # (N, D)
    labels: np.ndarray | None  # (N,) int64, or None for unlabelled data

    @property
    def num_examples(self) -> int:
        return int(self.mean.shape[0])

    @property
    def latent_dim(self) -> int:
        return int(self.mean.shape[1])


def as_encode_fn(model_or_fn: Any) -> EncodeFn:
    """``model.encode`` for a model, the function itself otherwise, as a ``tf.function``."""
    if isinstance(model_or_fn, tf.types.experimental.GenericFunction):
        return model_or_fn
    fn = getattr(model_or_fn, "encode", model_or_fn)
    if not callable(fn):
        raise TypeError(f"Expected a model with .encode or a callable, got {model_or_fn!r}.")
    return tf.function(lambda x: tuple(fn(x)), reduce_retracing=True)


def split_batch(batch: Any) -> tuple[tf.Tensor, tf.Tensor | None]:
    """(images, labels) of a dataset element: a pair, a dict with ``image``/``label``, or images."""
    if isinstance(batch, dict):
        return batch["image"], batch.get("label")
    if isinstance(batch, tuple | list):
        return batch[0], (batch[1] if len(batch) > 1 else None)
    return batch, None


def iterate_images(dataset: tf.data.Dataset, limit: int | None = None) -> Iterator[tuple]:
    """(images, labels) batches of ``dataset``, truncated after ``limit`` examples in all."""
    seen = 0
    for batch in dataset:
        images, labels = split_batch(batch)
        if limit is not None:
            room = limit - seen
            if room <= 0:
                return
            images = images[:room]
            labels = None if labels is None else labels[:room]
        seen += int(images.shape[0])
        yield images, labels


def expected_examples(dataset: tf.data.Dataset, batch_size: int, limit: int | None) -> int | None:
    """About how many examples ``dataset`` (batches of ``batch_size``) holds, capped by ``limit``,
    for a progress bar; None if unknown."""
    batches = int(dataset.cardinality())
    if batches < 0:
        return limit
    return min(batches * batch_size, limit) if limit else batches * batch_size


def encode_dataset(
    encode_fn: EncodeFn | Any,
    dataset: tf.data.Dataset,
    limit: int | None = None,
    *,
    progress: Any = None,
) -> Encodings:
    """Posterior means and log-variances (and labels) of every example of ``dataset``.

    Args:
        encode_fn: ``x -> (mean, log_var)``, or a model with ``.encode``.
        dataset: batches of images, or of (images, labels); negative labels mean unlabelled.
        limit: stop after this many examples.
        progress: a ``tf_infomax.progress.Progress`` told of each batch's examples, or None.
    """
    encode = as_encode_fn(encode_fn)
    means, log_vars, labels = [], [], []
    for images, batch_labels in iterate_images(dataset, limit):
        mean, log_var = encode(tf.convert_to_tensor(images))
        means.append(np.asarray(mean, np.float32))
        log_vars.append(np.asarray(log_var, np.float32))
        if batch_labels is not None:
            labels.append(np.asarray(batch_labels, np.int64).reshape(-1))
        if progress is not None:
            progress.update(int(images.shape[0]))
    if not means:
        raise ValueError("The dataset is empty: nothing to evaluate.")
    all_labels = np.concatenate(labels) if len(labels) == len(means) else None
    if all_labels is not None and np.all(all_labels < 0):
        all_labels = None  # unlabelled datasets yield label -1
    return Encodings(np.concatenate(means), np.concatenate(log_vars), all_labels)
