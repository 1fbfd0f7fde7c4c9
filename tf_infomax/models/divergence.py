"""``StopOnDivergence``: stop ``fit`` at the first NaN/inf loss, with a clear error."""

from __future__ import annotations

import math

import keras

from tf_infomax.errors import TrainingDivergedError


class StopOnDivergence(keras.callbacks.TerminateOnNaN):
    """``TerminateOnNaN`` that records where the loss diverged and raises a clear error.

    At the first training batch whose loss is NaN or inf it sets ``where = (epoch, batch)``
    (both 1-based) and stops training. ``InfoMaxVAE.fit`` adds one unless its callbacks
    already hold one.

    Args:
        raise_error: raise :class:`TrainingDivergedError` at that batch (default), as
            ``TerminateOnNaN(raise_error=True)`` does: ``on_train_end`` is then not called, so
            ``BackupAndRestore`` keeps the backup of the last completed epoch. ``False`` stops
            gracefully (``model.stop_training``) and leaves reporting ``where`` to the caller.
    """

    def __init__(self, raise_error: bool = True):
        super().__init__(raise_error=raise_error)
        self.epoch, self.where = 0, None

    def on_train_begin(self, logs=None):
        self.where = None

    def on_epoch_begin(self, epoch, logs=None):
        self.epoch = epoch

    def on_batch_end(self, batch, logs=None):
        if not non_finite_loss(logs):
            return
        self.where = (self.epoch + 1, batch + 1)
        self.model.stop_training = True
        if self.raise_error:
            raise TrainingDivergedError(diverged_message(*self.where))


def non_finite_loss(logs) -> bool:
    """Whether Keras logs hold a NaN or inf ``loss``."""
    loss = (logs or {}).get("loss")
    return loss is not None and not math.isfinite(float(loss))


def diverged_message(epoch: int, batch: int) -> str:
    """What ``fit`` says when the loss diverged at (1-based) ``epoch`` and ``batch``."""
    return (
        f"Training diverged: the loss became NaN/inf at epoch {epoch}, batch {batch}, and "
        "training stopped there; the model's weights may now be NaN (reload or rebuild it). "
        "Lower the learning rate (compile(optimizer=...)) or alpha, or check the data "
        "(finite images in [0, 1]), and train again."
    )
