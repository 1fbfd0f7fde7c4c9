"""Timing training steps of ``model.fit``, shared by the training benchmarks."""

from __future__ import annotations

import time

import keras


class StepTimer(keras.callbacks.Callback):
    """Times the steps after the first of one fit call (wall and process CPU seconds).

    The first step is excluded: it includes the start of a new ``fit`` call (iterator creation,
    shuffle-buffer fill). ``last - first`` spans ``batches`` steps.
    """

    def __init__(self):
        super().__init__()
        self.first = self.last = None
        self.batches = 0

    def on_train_batch_end(self, batch, logs=None):
        now, cpu = time.perf_counter(), time.process_time()
        if self.first is None:
            self.first, self.first_cpu = now, cpu
        else:
            self.last, self.last_cpu = now, cpu
            self.batches += 1


def timed_fit(model, dataset, steps: int) -> tuple[float, float]:
    """(wall seconds, process CPU seconds) of ``steps`` training steps: one ``fit`` call of
    ``steps + 1`` steps, timed from the end of its first step to the end of its last."""
    timer = StepTimer()
    model.fit(dataset, epochs=1, steps_per_epoch=steps + 1, callbacks=[timer], verbose=0)
    assert timer.batches == steps, (timer.batches, steps)
    return timer.last - timer.first, timer.last_cpu - timer.first_cpu
