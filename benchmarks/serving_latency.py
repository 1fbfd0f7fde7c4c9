"""Latency of an exported encoder's signatures beside the in-memory Keras encoder, on CPU.

Usage (from the repository root):

    python benchmarks/serving_latency.py [--arch fc] [--latent-dim 20] [--repeats 200]

Builds the paper's FC encoder (784 -> 4 x 1000 LeakyReLU -> 2 x 20) *untrained* (weights do not
change latency), exports it with ``tf_infomax.serving.export_encoder``, reloads it with
``tf.saved_model.load`` and times, for batches of 1 and 256 images, one call each of:

* ``serving_default`` (float images; includes the shape and [0, 1] range checks),
* ``serving_uint8`` (raw bytes, scaled in the graph),
* the Keras encoder called eagerly (``encoder(x, training=False)``),
* the Keras encoder inside a ``tf.function`` (graph, no checks).

Calls are interleaved round-robin after a warm-up, so background load on a shared machine hits
all variants alike; the median and 90th percentile (ms) go to
``benchmarks/results/serving_latency.json`` with versions, CPU model and thread settings.
This is in-process latency: TF Serving adds HTTP/gRPC and JSON (de)serialization on top.
"""

from __future__ import annotations

import argparse
import datetime
import json
import os
import pathlib
import platform
import sys
import tempfile
import time
from collections.abc import Callable

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import keras  # noqa: E402
import numpy as np  # noqa: E402
import tensorflow as tf  # noqa: E402
from machine import cpu_model  # noqa: E402  (benchmarks/machine.py)

from tf_infomax import build_model  # noqa: E402
from tf_infomax.serving import export_encoder  # noqa: E402

RESULTS = pathlib.Path(__file__).parent / "results" / "serving_latency.json"


def time_round_robin(
    fns: dict[str, Callable[[], object]], repeats: int, warmup: int
) -> dict[str, dict[str, float]]:
    """Median, p90 and mean latency (ms) of each zero-argument call, interleaved."""
    times: dict[str, list[float]] = {name: [] for name in fns}
    for i in range(warmup + repeats):
        for name, fn in fns.items():
            start = time.perf_counter()
            fn()
            if i >= warmup:
                times[name].append(1e3 * (time.perf_counter() - start))
    return {
        name: {
            "median_ms": round(float(np.median(t)), 4),
            "p90_ms": round(float(np.percentile(t, 90)), 4),
            "mean_ms": round(float(np.mean(t)), 4),
        }
        for name, t in times.items()
    }


def variants(encoder: keras.Model, export_dir: pathlib.Path, batch: int) -> dict:
    """Zero-argument calls that encode one batch and fetch the result to numpy."""
    rng = np.random.default_rng(batch)
    shape = (batch, *encoder.input_shape[1:])
    raw = rng.integers(0, 256, shape, dtype=np.uint8)
    x = tf.constant(raw.astype(np.float32) / 255)
    raw = tf.constant(raw)
    loaded = tf.saved_model.load(str(export_dir))
    default, uint8 = loaded.signatures["serving_default"], loaded.signatures["serving_uint8"]
    graph_encoder = tf.function(lambda images: encoder(images, training=False))
    return {
        "saved_model serving_default": lambda: default(images=x)["mean"].numpy(),
        "saved_model serving_uint8": lambda: uint8(images=raw)["mean"].numpy(),
        "keras encoder, eager call": lambda: encoder(x, training=False).numpy(),
        "keras encoder, tf.function": lambda: graph_encoder(x).numpy(),
    }


def main(argv: list[str] | None = None) -> dict:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--arch", default="fc", choices=("fc", "conv"))
    p.add_argument("--latent-dim", type=int, default=20)
    p.add_argument("--batch-sizes", type=int, nargs="+", default=[1, 256])
    p.add_argument("--repeats", type=int, default=200, help="timed calls per variant (batch 1)")
    p.add_argument("--warmup", type=int, default=20)
    p.add_argument("--threads", type=int, default=0, help="intra/inter-op threads (0: TF picks)")
    p.add_argument("--out", type=pathlib.Path, default=RESULTS)
    args = p.parse_args(argv)

    if args.threads:
        tf.config.threading.set_intra_op_parallelism_threads(args.threads)
        tf.config.threading.set_inter_op_parallelism_threads(args.threads)
    keras.utils.set_random_seed(0)
    model = build_model("vae", image_shape=(28, 28, 1), latent_dim=args.latent_dim, arch=args.arch)
    load_before = os.getloadavg()
    results = {}
    with tempfile.TemporaryDirectory() as tmp:
        export_dir = export_encoder(model, pathlib.Path(tmp) / "encoder")
        for batch in args.batch_sizes:
            # Fewer repeats for big batches: about the same total work per batch size.
            repeats = max(50, args.repeats // max(1, batch // 16))
            calls = variants(model.encoder, export_dir, batch)
            timings = time_round_robin(calls, repeats, args.warmup)
            for timing in timings.values():
                timing["images_per_s"] = round(1e3 * batch / timing["median_ms"], 1)
            results[f"batch_{batch}"] = {"repeats": repeats, "latency": timings}
            print(f"batch {batch} ({repeats} repeats):")
            for name, t in timings.items():
                print(f"  {name:30s} median {t['median_ms']:8.3f} ms  p90 {t['p90_ms']:8.3f} ms")

    report = {
        "what": "in-process latency of one call (encode a batch, fetch 'mean' to numpy)",
        "model": {
            "arch": args.arch,
            "latent_dim": args.latent_dim,
            "image_shape": [28, 28, 1],
            "encoder_params": int(model.encoder.count_params()),
            "trained": False,
            "note": "untrained weights: latency does not depend on the weight values",
        },
        "warmup_calls": args.warmup,
        "results": results,
        "machine": {
            "cpu_model": cpu_model(),
            "os_cpu_count": os.cpu_count(),
            "cpus_available": len(os.sched_getaffinity(0)),
            "intra_op_threads": tf.config.threading.get_intra_op_parallelism_threads(),
            "inter_op_threads": tf.config.threading.get_inter_op_parallelism_threads(),
            "threads_note": "0 means TensorFlow's default (all available cores)",
            "load_average_before": [round(x, 2) for x in load_before],
            "load_average_after": [round(x, 2) for x in os.getloadavg()],
            "shared": "other processes may run on these cores; compare variants, not runs",
        },
        "versions": {
            "tensorflow": tf.__version__,
            "keras": keras.__version__,
            "numpy": np.__version__,
            "python": platform.python_version(),
        },
        "date": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
        "command": "python benchmarks/serving_latency.py "
        + " ".join(argv if argv is not None else sys.argv[1:]),
    }
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(report, indent=1) + "\n")
    print(f"wrote {args.out}")
    return report


if __name__ == "__main__":
    main()
