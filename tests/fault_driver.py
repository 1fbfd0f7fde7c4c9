"""Run one training, evaluation or export and kill -9 this process at a chosen point.

    python tests/fault_driver.py RUN_DIR POINT [EPOCHS]

POINT: ``none`` (run to the end), ``epoch1-batch2`` (during epoch 1), ``epoch1-end`` (at the
epoch boundary, after every epoch-end callback), ``epoch2-batch3`` (mid-epoch later),
``final-save`` (half-way through writing model.keras), ``export`` (half-way through writing
the SavedModel), ``evaluate`` (inside a metric). Used by tests/test_faults.py and
scripts/fault_injection.sh (FAULT_EPOCHS).
"""

from __future__ import annotations

import os
import signal
import sys
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import keras  # noqa: E402

from tf_infomax.config import TrainConfig  # noqa: E402

CONFIG = TrainConfig.from_flat(
    model="infomax-vae",
    dataset="sklearn_digits",
    latent_dim=3,
    critic_units=(16,),
    arch_options={"units": 32},  # kill points, not model size, are under test
    limit=300,
    batch_size=50,
    validation_limit=100,
)


def die() -> None:
    os.kill(os.getpid(), signal.SIGKILL)


class KillAt(keras.callbacks.Callback):
    def __init__(self, point: str):
        super().__init__()
        self.point, self.epoch = point, 0

    def on_epoch_begin(self, epoch, logs=None):
        self.epoch = epoch + 1

    def on_train_batch_end(self, batch, logs=None):
        if self.point == f"epoch{self.epoch}-batch{batch + 1}":
            die()

    def on_epoch_end(self, epoch, logs=None):
        if self.point == f"epoch{epoch + 1}-end":
            die()


def main(run_dir: str, point: str, epochs: int = 3) -> None:
    from tf_infomax import training
    from tf_infomax.models.infomax_vae import InfoMaxVAE

    if point == "final-save":
        original = InfoMaxVAE.save

        def save_half_and_die(self, path, *args, **kwargs):
            original(self, path, *args, **kwargs)
            data = Path(path).read_bytes()
            Path(path).write_bytes(data[: len(data) // 2])
            die()

        InfoMaxVAE.save = save_half_and_die
    if point in ("export", "evaluate"):
        if not (Path(run_dir) / "model.keras").exists():
            training.train(CONFIG.replace(epochs=epochs), run_dir, verbose=0)
        if point == "export":
            from tf_infomax.serving import export as export_module
            from tf_infomax.serving import export_run

            # Die once the SavedModel is written, before it is moved into place.
            export_module._verify = lambda *args, **kwargs: die()
            export_run(run_dir, Path(run_dir) / "export")
        else:
            from tf_infomax.metrics import evaluate
            from tf_infomax.metrics.registry import REGISTRY

            metric = REGISTRY["kl"]
            REGISTRY["kl"] = type(metric)("kl", lambda context: die())
            evaluate.evaluate_run(run_dir, evaluate.EvaluationConfig.tiny(figures=False))
        return
    callbacks = [] if point == "none" else [KillAt(point)]
    training.train(CONFIG.replace(epochs=epochs), run_dir, verbose=0, callbacks=callbacks)


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2], *(int(a) for a in sys.argv[3:]))
