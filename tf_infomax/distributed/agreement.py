"""Checks that every worker of a multi-worker run starts the same training, by a collective.

Each worker contributes a small vector (a fingerprint of its config, the epoch it would resume
at, whether it could start); ``gather`` (TensorFlow's all-gather) gives every worker all of
them, so all raise the same clear error instead of hanging in the first training step.
"""

from __future__ import annotations

import hashlib
import json

import numpy as np
import tensorflow as tf

# 16-bit pieces are exact in float32, the dtype every collective implementation supports.
_PIECES = 4


def fingerprint(values: dict) -> list[float]:
    """A 64-bit hash of a JSON-able mapping, as four float32-exact 16-bit numbers."""
    digest = hashlib.sha256(json.dumps(values, sort_keys=True, default=str).encode()).digest()
    return [float(int.from_bytes(digest[2 * i : 2 * i + 2], "big")) for i in range(_PIECES)]


def gather_from_workers(strategy: tf.distribute.Strategy, vector: list[float]) -> np.ndarray:
    """Every replica's copy of ``vector`` (one row per replica), on every worker."""
    value = tf.constant([vector], tf.float32)
    per_replica = strategy.experimental_distribute_values_from_function(lambda _: value)
    return strategy.gather(per_replica, axis=0).numpy()


def rows_agree(rows: np.ndarray) -> bool:
    return bool(np.all(rows == rows[:1]))
