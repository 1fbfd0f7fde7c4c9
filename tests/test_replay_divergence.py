"""trainers/replay_divergence.py recovers each step's values from fit's running means."""

import keras
import pytest

from trainers.replay_divergence import StepRecorder, replay


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


def test_a_change_the_backup_would_undo_is_refused_before_anything_runs(tmp_path):
    # The backup restores the optimizers' learning-rate variables: such a replay would
    # silently run with the old rate.
    with pytest.raises(ValueError, match="--set critic_learning_rate: the backup restores"):
        replay(tmp_path / "no-run", changes={"critic_learning_rate": 1e-3})
