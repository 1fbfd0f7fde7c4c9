"""scikit-learn's 8x8 digits as 28x28x1 images, a tiny real dataset that ships offline."""

from __future__ import annotations

import functools

import numpy as np

from tf_infomax.data.registry import SKLEARN_DIGITS_NUM_TEST, SKLEARN_DIGITS_NUM_TRAIN

UPSCALE = 3  # 8x8 -> 24x24 by pixel repetition
PAD = 2  # 24x24 -> 28x28, like MNIST's digits centred in a blank border
MAX_VALUE = 16.0


@functools.cache
def _all() -> tuple[np.ndarray, np.ndarray]:
    from sklearn.datasets import load_digits

    digits = load_digits()
    images = digits.images.astype(np.float32) / MAX_VALUE
    images = images.repeat(UPSCALE, axis=1).repeat(UPSCALE, axis=2)
    images = np.pad(images, ((0, 0), (PAD, PAD), (PAD, PAD)))[..., None]
    assert images.shape[0] == SKLEARN_DIGITS_NUM_TRAIN + SKLEARN_DIGITS_NUM_TEST
    images.setflags(write=False)
    labels = digits.target.astype(np.int64)
    labels.setflags(write=False)
    return images, labels


def load_split(split: str) -> tuple[np.ndarray, np.ndarray]:
    """Images ``float32 (N, 28, 28, 1)`` in [0, 1] and ``int64`` labels of ``train`` or ``test``.

    ``train`` is the first 1500 of the 1797 images, ``test`` the remaining 297.
    """
    images, labels = _all()
    if split == "train":
        part = slice(None, SKLEARN_DIGITS_NUM_TRAIN)
    elif split == "test":
        part = slice(SKLEARN_DIGITS_NUM_TRAIN, None)
    else:
        raise ValueError(f"sklearn_digits has splits 'train' and 'test', not {split!r}.")
    return images[part], labels[part]
