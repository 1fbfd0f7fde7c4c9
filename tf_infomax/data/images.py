"""Image conversions shared by every source: drop alpha, convert channels, resize."""

from __future__ import annotations

from collections.abc import Sequence

import tensorflow as tf


def drop_alpha(image: tf.Tensor) -> tf.Tensor:
    """An HWC image with 1 (grey) or 3 (RGB) channels: grey+alpha -> grey, RGBA -> RGB."""
    channels = tf.shape(image)[-1]
    return image[..., : tf.where(channels >= 3, 3, 1)]


def to_channels(images: tf.Tensor, channels: int) -> tf.Tensor:
    """Grey <-> RGB with TensorFlow's own conversions (a no-op when they already match)."""
    have = images.shape[-1]
    if have == channels:
        return images
    if channels == 3:
        return tf.image.grayscale_to_rgb(images)
    grey = tf.image.rgb_to_grayscale(tf.cast(images, tf.float32))
    return _like(grey, images.dtype)


def resize(images: tf.Tensor, size: Sequence[int] | None) -> tf.Tensor:
    """Resize to ``size`` = (H, W) (bilinear, antialiased), keeping the dtype; None: as is."""
    if size is None:
        return images
    size = tuple(int(s) for s in size)
    if tuple(images.shape[-3:-1]) == size:
        return images
    resized = tf.image.resize(images, size, method="bilinear", antialias=True)
    return _like(resized, images.dtype)


def fit(images: tf.Tensor, size: Sequence[int] | None, channels: int | None) -> tf.Tensor:
    """``to_channels`` then ``resize``: the images a model of that shape takes."""
    if channels is not None:
        images = to_channels(images, channels)
    return resize(images, size)


def _like(images: tf.Tensor, dtype: tf.DType) -> tf.Tensor:
    if dtype == tf.uint8:
        return tf.saturate_cast(tf.round(images), tf.uint8)
    return tf.clip_by_value(tf.cast(images, dtype), 0.0, 1.0)
