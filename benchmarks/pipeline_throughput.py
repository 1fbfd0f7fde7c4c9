"""Throughput of the Fashion-MNIST training pipeline alone (no model), in examples/s.

Usage (from the repository root):

    python benchmarks/pipeline_throughput.py [--data_dir DIR] [--repeats 7]

Builds ``tf_infomax.data.load("fashion_mnist", "train", batch_size=100)`` (shuffled, drop
remainder, as training uses it), runs one epoch to warm up (it decodes the TFDS records and fills
the in-memory cache; its speed is recorded too), then times full epochs and reports the median.
The same is measured with dynamic binarization. Results go to
``benchmarks/results/pipeline_throughput.json``.
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
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import tensorflow as tf  # noqa: E402
import tensorflow_datasets as tfds  # noqa: E402
from machine import cpu_model  # noqa: E402  (benchmarks/machine.py)

from tf_infomax import data  # noqa: E402

RESULTS = pathlib.Path(__file__).parent / "results" / "pipeline_throughput.json"


def epoch_rate(dataset: tf.data.Dataset) -> tuple[float, float, int]:
    """Iterate one epoch; return (examples per wall-clock s, per process CPU s, examples)."""
    wall, cpu = time.perf_counter(), time.process_time()
    count = 0
    for images, _ in dataset:
        count += int(images.shape[0])
    return count / (time.perf_counter() - wall), count / (time.process_time() - cpu), count


def measure(repeats: int, data_dir: str | None, batch_size: int, binarize: bool) -> dict:
    dataset = data.load(
        "fashion_mnist", "train", batch_size=batch_size, binarize=binarize, data_dir=data_dir
    )
    first, _, count = epoch_rate(dataset)
    wall, cpu, _ = zip(*(epoch_rate(dataset) for _ in range(repeats)), strict=True)
    return {
        "binarize": binarize,
        "examples_per_epoch": count,
        "warmup_epoch_examples_per_s": round(first),
        "examples_per_s_median": round(statistics.median(wall)),
        "examples_per_s_all": [round(r) for r in wall],
        "examples_per_cpu_s_median": round(statistics.median(cpu)),
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data_dir", default=None, help="TFDS data dir (default: TFDS's)")
    parser.add_argument("--repeats", type=int, default=7, help="timed epochs after warm-up")
    parser.add_argument("--batch_size", type=int, default=100)
    parser.add_argument("--out", type=pathlib.Path, default=RESULTS)
    args = parser.parse_args(argv)

    load_before = os.getloadavg()
    runs = [measure(args.repeats, args.data_dir, args.batch_size, b) for b in (False, True)]
    result = {
        "benchmark": "Fashion-MNIST training pipeline alone (tf_infomax.data.load), no model",
        "command": " ".join(["python benchmarks/pipeline_throughput.py", *(argv or sys.argv[1:])]),
        "date_utc": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
        "batch_size": args.batch_size,
        "repeats": args.repeats,
        "statistic": "median over timed epochs, after one warm-up epoch",
        "note": "examples_per_cpu_s counts this process's CPU time (all threads), so it is "
        "less sensitive than wall-clock examples/s to other load on the machine",
        "runs": runs,
        "tensorflow": tf.__version__,
        "tensorflow_datasets": tfds.__version__,
        "python": platform.python_version(),
        "cpu_model": cpu_model(),
        "cpu_threads": os.cpu_count(),
        "cpu_threads_usable": len(os.sched_getaffinity(0)),
        "tf_inter_op_threads": tf.config.threading.get_inter_op_parallelism_threads(),
        "tf_intra_op_threads": tf.config.threading.get_intra_op_parallelism_threads(),
        "load_average_1min_before_after": [round(load_before[0], 2), round(os.getloadavg()[0], 2)],
    }
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(result, indent=2) + "\n")
    for run in runs:
        print(
            f"binarize={run['binarize']}: {run['examples_per_s_median']:,} examples/s "
            f"(median of {args.repeats}; warm-up epoch {run['warmup_epoch_examples_per_s']:,}); "
            f"{run['examples_per_cpu_s_median']:,} examples per CPU-second"
        )
    print(f"wrote {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
