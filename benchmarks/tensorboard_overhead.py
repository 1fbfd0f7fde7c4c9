"""What TensorBoard's pictures and the projector cost a training run, against its epochs.

Usage (from the repository root; run it through /work/runs/quiet.sh on a shared machine):

    python benchmarks/tensorboard_overhead.py [--limit 6000] [--epochs 2]

Trains the default model (InfoMax-VAE, FC, latent 20, batch 100) on the first ``--limit``
Fashion-MNIST training images with the pictures on every epoch (``tf_infomax.summaries``) and
the projector of the 2000 validation codes at the end, and times, within that one run: each
epoch's training and validation on 2000 test images (a Keras callback), each write of the
pictures and histograms, and the projector. The write costs the same at any ``--limit`` (one
batch of 16 images), so its share of an epoch shrinks as the epoch grows. Results go to
``benchmarks/results/tensorboard_overhead.json``.
"""

from __future__ import annotations

import argparse
import datetime
import json
import os
import pathlib
import platform
import statistics
import sys
import tempfile
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import keras  # noqa: E402
from machine import cpu_model  # noqa: E402  (benchmarks/machine.py)

from tf_infomax import projector, summaries, training  # noqa: E402
from tf_infomax.config import TrainConfig  # noqa: E402

RESULTS = pathlib.Path(__file__).parent / "results" / "tensorboard_overhead.json"


class _Timed:
    """Wraps a function, keeping the wall time of each call."""

    def __init__(self, fn):
        self.fn, self.seconds = fn, []

    def __call__(self, *args, **kwargs):
        started = time.perf_counter()
        try:
            return self.fn(*args, **kwargs)
        finally:
            self.seconds.append(time.perf_counter() - started)


class _EpochTimer(keras.callbacks.Callback):
    def __init__(self):
        super().__init__()
        self.seconds = []

    def on_epoch_begin(self, epoch, logs=None):
        self.started = time.perf_counter()

    def on_epoch_end(self, epoch, logs=None):  # after the pictures' callback: includes a write
        self.seconds.append(time.perf_counter() - self.started)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--limit", type=int, default=6000)
    parser.add_argument("--epochs", type=int, default=2)
    parser.add_argument("--data_dir", default=None)
    args = parser.parse_args(argv)

    writes = _Timed(summaries.ImageSummaries.write)
    summaries.ImageSummaries.write = lambda self, step: writes(self, step)
    projector_write = _Timed(projector.write_model_projector)
    projector.write_model_projector = projector_write
    epochs = _EpochTimer()
    config = TrainConfig.from_flat(
        dataset="fashion_mnist",
        limit=args.limit,
        epochs=args.epochs,
        data_dir=args.data_dir,
        validation_limit=2000,
        projector_points=2000,
    )
    with tempfile.TemporaryDirectory() as folder:
        training.train(config, pathlib.Path(folder) / "run", verbose=0, callbacks=[epochs])
    # Each timed epoch holds one write; the first epoch and write trace functions.
    pure = [e - w for e, w in zip(epochs.seconds, writes.seconds, strict=True)]
    epoch = statistics.median(pure[1:] or pure)
    write = statistics.median(writes.seconds[1:] or writes.seconds)
    result = {
        "command": "python benchmarks/tensorboard_overhead.py " + " ".join(argv or sys.argv[1:]),
        "date": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
        "cpu": cpu_model(),
        "cpus": os.cpu_count(),
        "python": platform.python_version(),
        "train_examples": args.limit,
        "epochs": args.epochs,
        "epoch_s": [round(s, 3) for s in pure],
        "summary_write_s": [round(s, 3) for s in writes.seconds],
        "projector_s": round(projector_write.seconds[0], 3),
        "summary_write_over_epoch": round(write / epoch, 4),
        "projector_over_training": round(
            projector_write.seconds[0] / (sum(epochs.seconds) + projector_write.seconds[0]), 4
        ),
        "note": "epoch_s: training and validation of an epoch without the write; the ratio of "
        "write to epoch uses medians without the first (tracing) epoch and write",
    }
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(json.dumps(result, indent=1) + "\n")
    print(json.dumps(result, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
