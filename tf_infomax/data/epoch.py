"""``DataEpoch``: the epoch that seeded pipelines key their order and noise by, set by ``fit``."""

from __future__ import annotations

import keras
import tensorflow as tf


def epoch_variable(epoch: int = 0) -> tf.Variable:
    """A scalar int64 variable on the CPU, where ``tf.data`` reads it."""
    with tf.init_scope(), tf.device("/cpu:0"):
        return tf.Variable(epoch, dtype=tf.int64, trainable=False, name="data_epoch")


class DataEpoch(keras.callbacks.Callback):
    """Sets, at each epoch's start, the epoch of pipelines built with ``load(..., epoch=this)``.

    Their shuffle order and binarization noise are then functions of (seed, epoch) alone, so a
    run that ``BackupAndRestore`` resumes at epoch k in a new process trains on epoch k's
    batches, not on epoch 0's. Create it outside any ``strategy.scope()``.

    Example:
        >>> epoch = data.DataEpoch()
        >>> train = data.load("fashion_mnist", batch_size=100, epoch=epoch)
        >>> model.fit(train, epochs=10, callbacks=[epoch, keras.callbacks.BackupAndRestore(d)])
    """

    def __init__(self, epoch: int = 0):
        super().__init__()
        self.variable = epoch_variable(epoch)

    def on_epoch_begin(self, epoch, logs=None):
        self.variable.assign(epoch)
