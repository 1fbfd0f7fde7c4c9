"""Throughput of the Fashion-MNIST training pipeline alone (no model), in examples/s.

Usage (from the repository root):

    python benchmarks/pipeline_throughput.py [--data_dir DIR] [--repeats 7]
    python benchmarks/pipeline_throughput.py --part folders [--folder_images 10000]

``--part folders`` measures ``dir:PATH`` sources instead: it writes folders of
``--folder_images`` PNGs (28x28 grey and 64x64 RGB, two class subfolders) into a temporary
directory, then times the first epoch (listing, decoding every file once, validating, plus
the epoch itself) and later epochs (from the in-memory cache), and adds them to the results
file under ``folders`` (the other keys are kept); keys ending in ``_disk`` time the same
folder decoded to memory-mapped files (the memory budget set to 0), as for a folder larger
than memory.

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
from tf_infomax.data import disk_cache, user_source  # noqa: E402

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


def write_folder(root: pathlib.Path, count: int, shape: tuple[int, int, int]) -> None:
    """``count`` random PNGs of ``shape`` in two class subfolders, encoded in parallel."""
    for name in ("a", "b"):
        (root / name).mkdir(parents=True)
    pixels = tf.random.stateless_uniform((count, *shape), (0, 0), 0, 256, tf.int32)
    encoded = (
        tf.data.Dataset.from_tensor_slices(tf.cast(pixels, tf.uint8))
        .map(tf.io.encode_png, num_parallel_calls=tf.data.AUTOTUNE)
        .enumerate()
    )
    for index, png in encoded.as_numpy_iterator():
        (root / "ab"[index % 2] / f"{index:05d}.png").write_bytes(png)


def measure_folder(root: pathlib.Path, repeats: int, batch_size: int, count: int) -> dict:
    """First epoch (decode once, validate, then the epoch) and later epochs (cached)."""
    started, cpu = time.perf_counter(), time.process_time()
    dataset = data.load(f"dir:{root}", "train", batch_size=batch_size)
    opened = time.perf_counter() - started
    _, _, seen = epoch_rate(dataset)
    first_wall, first_cpu = time.perf_counter() - started, time.process_time() - cpu
    wall, cpu_rates, _ = zip(*(epoch_rate(dataset) for _ in range(repeats)), strict=True)
    return {
        "images": count,
        "image_shape": list(data.dataset_info(f"dir:{root}").image_shape),
        "images_per_epoch": seen,
        "decode_s": round(opened, 2),
        "first_epoch_images_per_s": round(count / first_wall),
        "first_epoch_images_per_cpu_s": round(count / first_cpu),
        "cached_epoch_images_per_s_median": round(statistics.median(wall)),
        "cached_epoch_images_per_s_all": [round(r) for r in wall],
        "cached_epoch_images_per_cpu_s_median": round(statistics.median(cpu_rates)),
    }


def folders(args) -> dict:
    import tempfile

    load_before, results = os.getloadavg()[0], {}
    with tempfile.TemporaryDirectory(prefix="pipeline_throughput_") as tmp:
        for shape in ((28, 28, 1), (64, 64, 3)):
            key = "x".join(map(str, shape))
            root = pathlib.Path(tmp) / key
            write_folder(root, args.folder_images, shape)
            # In memory (the default for data that fits), then decoded to memory-mapped files
            # as for a folder larger than the memory budget (tf_infomax.data.disk_cache).
            for name, budget in ((key, None), (f"{key}_disk", "0")):
                user_source._CACHE.clear()
                os.environ[disk_cache.CACHE_DIR_ENV] = str(pathlib.Path(tmp) / "cache")
                os.environ.pop(disk_cache.BUDGET_ENV, None)
                if budget is not None:
                    os.environ[disk_cache.BUDGET_ENV] = budget
                results[name] = measure_folder(
                    root, args.repeats, args.batch_size, args.folder_images
                )
                print(
                    f"dir: {args.folder_images} PNGs {name}: first epoch (decode) "
                    f"{results[name]['first_epoch_images_per_s']:,} images/s "
                    f"(decoding {results[name]['decode_s']} s), cached epochs "
                    f"{results[name]['cached_epoch_images_per_s_median']:,} images/s "
                    f"(median of {args.repeats})"
                )
            os.environ.pop(disk_cache.BUDGET_ENV, None)
    return {
        "benchmark": "dir:PATH sources (tf_infomax.data.load), no model: first epoch lists, "
        "decodes (tf.io.decode_image, parallel) and validates every file once, then iterates; "
        "later epochs read the in-memory uint8 cache (keys *_disk: the memory budget set to 0, "
        "so the folder is decoded once to memory-mapped .npy files and batches are gathered "
        "from them)",
        "command": " ".join(["python benchmarks/pipeline_throughput.py", *sys.argv[1:]]),
        "date_utc": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
        "batch_size": args.batch_size,
        "repeats": args.repeats,
        "statistic": "first epoch: one run, decode included; cached: median over timed epochs",
        "images": "random pixels, PNG-encoded by tf.io.encode_png, two class subfolders",
        "runs": results,
        "tensorflow": tf.__version__,
        "cpu_model": cpu_model(),
        "cpu_threads_usable": len(os.sched_getaffinity(0)),
        "load_average_1min_before_after": [round(load_before, 2), round(os.getloadavg()[0], 2)],
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data_dir", default=None, help="TFDS data dir (default: TFDS's)")
    parser.add_argument("--repeats", type=int, default=7, help="timed epochs after warm-up")
    parser.add_argument("--batch_size", type=int, default=100)
    parser.add_argument("--out", type=pathlib.Path, default=RESULTS)
    parser.add_argument(
        "--part", choices=("fashion_mnist", "folders"), default="fashion_mnist", help="what to time"
    )
    parser.add_argument("--folder_images", type=int, default=10_000, help="PNGs per folder")
    args = parser.parse_args(argv)
    if args.part == "folders":
        previous = json.loads(args.out.read_text()) if args.out.exists() else {}
        previous["folders"] = folders(args)
        args.out.parent.mkdir(parents=True, exist_ok=True)
        args.out.write_text(json.dumps(previous, indent=2) + "\n")
        print(f"wrote {args.out} (key folders)")
        return 0

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
    previous = json.loads(args.out.read_text()) if args.out.exists() else {}
    if "folders" in previous:
        result["folders"] = previous["folders"]  # measured by --part folders: kept
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
