"""trainers/replay_divergence.py recovers each step's values from fit's running means."""

import keras

from trainers.replay_divergence import StepRecorder


def test_step_values_come_back_from_running_means_and_extremes_pass_through():
    recorder = StepRecorder(epoch=2)
    recorder.set_model(keras.Sequential())
    recorder.on_epoch_begin(0)
    recorder.on_train_batch_end(0, {"loss": 9.0})  # epoch 1: not recorded
    recorder.on_epoch_begin(1)
    values, running, largest = [1.0, 3.0, 8.0], [], []
    for n in range(1, len(values) + 1):
        running.append(sum(values[:n]) / n)
        largest.append(max(values[:n]))
        recorder.on_train_batch_end(n - 1, {"loss": running[-1], "log_var_max": largest[-1]})
    assert [round(s["loss"], 6) for s in recorder.steps] == values
    assert [s["log_var_max"] for s in recorder.steps] == largest
    assert recorder.epoch_means == {"loss": running[-1], "log_var_max": 8.0}
    recorder.on_epoch_end(1)
    assert recorder.model.stop_training
