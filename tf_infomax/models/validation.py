"""Checks on training inputs, run before any step is traced so errors are clear and early."""

from __future__ import annotations

import numpy as np
import tensorflow as tf


def image_batch(data):
    """The images of a batch given as x, (x, y, ...) or {"image": x, ...}."""
    if isinstance(data, dict):
        for key in ("image", "images", "x"):
            if key in data:
                return data[key]
        raise ValueError(
            f"Batches given as dicts need an 'image' key holding the images; got keys "
            f"{sorted(data)}."
        )
    if isinstance(data, (tuple, list)):
        return data[0]
    return data


# Messages of the in-graph checks of ``InfoMaxVAE._check_batch``; ``plain_step_error`` finds them.
NAN_IN_BATCH = "Input images contain NaN or inf; clean the data (images in [0, 1])."
BATCH_OF_ONE = (
    "Batch of 1 example: too small to permute z for the MI critic. "
    "Use a larger batch or drop_remainder=True."
)
STEP_MESSAGES = (NAN_IN_BATCH, BATCH_OF_ONE)


def as_float_images(images):
    """uint8 images 0..255 as float32 in [0, 1] (``x / 255``, as the data pipeline and the
    ``serving_uint8`` signature scale them); other dtypes unchanged."""
    if images.dtype == tf.uint8:
        return tf.cast(images, tf.float32) / 255.0
    return images


def plain_step_error(error: tf.errors.InvalidArgumentError) -> ValueError | None:
    """A ``ValueError`` with just our message if ``error`` is one of the step's checks."""
    for message in STEP_MESSAGES:
        if message in (error.message or ""):
            return ValueError(message)
    return None


def check_image_shape(shape, image_shape: tuple[int, ...]) -> None:
    """Raise if a (batch, H, W, C) shape does not match the network's (H, W, C)."""
    shape = tuple(shape)
    if len(shape) != len(image_shape) + 1:
        raise ValueError(
            f"Expected batches of images of shape (batch, {', '.join(map(str, image_shape))}), "
            f"got rank-{len(shape)} input of shape {shape}. Reshape the data to NHWC "
            f"(e.g. x[..., None] for grey images) or build the model for this shape."
        )
    for got, want in zip(shape[1:], image_shape, strict=True):
        if got is not None and want is not None and int(got) != int(want):
            raise ValueError(
                f"Input images have shape {shape[1:]} but the network was built for "
                f"{tuple(image_shape)}. Build the model with image_shape={shape[1:]} "
                "or resize the data."
            )


def check_batch_size(batch_size: int | None, needs_pairs: bool) -> None:
    """Permutation-based MI estimators need at least 2 examples per batch (per replica)."""
    if needs_pairs and batch_size is not None and batch_size < 2:
        raise ValueError(
            f"Batch size {batch_size} is too small for the mutual-information critic: "
            "marginal pairs come from permuting z within the batch, which needs at least "
            "2 examples per replica (the paper uses 64-100). Increase the batch size."
        )


def check_finite_array(x) -> None:
    """Raise on NaN or inf in an in-memory array."""
    array = np.asarray(x)
    if np.issubdtype(array.dtype, np.floating) and not np.all(np.isfinite(array)):
        bad = int(np.size(array) - np.count_nonzero(np.isfinite(array)))
        raise ValueError(
            f"Input images contain {bad} NaN or inf values. Clean or drop those examples "
            "before training (images are expected in [0, 1])."
        )


def check_unit_range(x) -> None:
    """Raise if float images lie outside [0, 1] (the Bernoulli likelihood's range)."""
    array = np.asarray(x)
    if not np.issubdtype(array.dtype, np.floating) or array.size == 0:
        return
    low, high = float(array.min()), float(array.max())
    if low < 0.0 or high > 1.0:
        raise ValueError(
            f"Input images range over [{low:g}, {high:g}], but the Bernoulli likelihood needs "
            "pixel values in [0, 1] (outside it the loss becomes NaN). Divide 0-255 images by "
            "255, or pass them as uint8, which fit scales to [0, 1]."
        )


def check_fit_inputs(
    x, batch_size, image_shape, needs_pairs: bool, unit_range: bool = False
) -> None:
    """Validate what a user hands to ``fit``: arrays or a batched ``tf.data.Dataset``.

    Arrays are checked whole, a dataset on its first batch. ``unit_range``: float images must
    lie in [0, 1] (the Bernoulli likelihood); uint8 images are scaled in the step.
    """
    if isinstance(x, tf.data.Dataset):
        spec = image_batch(x.element_spec)
        check_image_shape(spec.shape, image_shape)
        check_batch_size(spec.shape[0], needs_pairs)
        for batch in x.take(1):
            images = image_batch(batch)
            check_batch_size(int(tf.shape(images)[0]), needs_pairs)
            check_finite_array(images)
            if unit_range:
                check_unit_range(images)
        return
    if x is None or not hasattr(image_batch(x), "shape"):
        return  # generators and PyDatasets are checked inside the step
    images = image_batch(x)
    check_image_shape(images.shape, image_shape)
    check_finite_array(images)
    if unit_range:
        check_unit_range(images)
    n = images.shape[0]
    size = batch_size or 32
    check_batch_size(min(size, n), needs_pairs)
    if needs_pairs and n % size == 1:
        raise ValueError(
            f"{n} examples in batches of {size} leave a last batch of 1 example, too small "
            "to permute for the mutual-information critic. Drop one example or change "
            "batch_size."
        )
