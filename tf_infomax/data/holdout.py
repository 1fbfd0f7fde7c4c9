"""``Holdout``: a seeded fraction of a split held out (``--validation-split 0.1``)."""

from __future__ import annotations

import dataclasses

import numpy as np
import tensorflow as tf


def holdout_fraction(value) -> float | None:
    """The fraction a ``validation_split`` value means (``0.1``, ``"0.1"``), None for a split name.

    Raises:
        ValueError: a number outside (0, 1).
    """
    if isinstance(value, bool):
        return None
    try:
        fraction = float(value)
    except (TypeError, ValueError):
        return None
    if not 0 < fraction < 1:
        raise ValueError(
            f"--validation-split {value}: a held-out fraction must be in (0, 1), e.g. 0.1; or "
            "give a split name (test, train[55000:])."
        )
    return fraction


@dataclasses.dataclass(frozen=True)
class Holdout:
    """A fraction of a split, chosen by a seeded permutation of its indices.

    ``held=True`` selects the held-out examples, ``held=False`` the rest; both keep the split's
    order. The same (fraction, seed) on the same split always gives the same two parts.

    Example:
        >>> val = data.load("dir:photos", "train", batch_size=50, holdout=Holdout(0.1, 0, True))
    """

    fraction: float
    seed: int = 0
    held: bool = False

    def count(self, n: int) -> int:
        """Examples held out of ``n``: round(fraction n), at least 1 and at most n - 1."""
        return min(max(round(self.fraction * n), 1), max(n - 1, 0))

    def mask(self, n: int) -> np.ndarray:
        """Boolean mask of the examples this part keeps."""
        held = np.zeros(n, bool)
        held[np.random.default_rng(self.seed).permutation(n)[: self.count(n)]] = True
        return held if self.held else ~held

    def size(self, n: int) -> int:
        return self.count(n) if self.held else n - self.count(n)

    def apply(self, examples: tf.data.Dataset) -> tf.data.Dataset:
        n = int(examples.cardinality())
        if n < 0:
            n = int(examples.reduce(0, lambda count, _: count + 1))
        keep = tf.constant(self.mask(n))
        kept = examples.enumerate().filter(lambda i, example: tf.gather(keep, i))
        kept = kept.map(lambda i, example: example)
        return kept.apply(tf.data.experimental.assert_cardinality(self.size(n)))
