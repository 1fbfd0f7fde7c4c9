"""Step time of the f-KL InfoMax-VAE step with K = 1, 4, 16 marginal derangements.

    python benchmarks/marginal_samples_cost.py [--samples 1 4 16] [--mi-clip-samples 16]
        [--steps 30] [--repeats 5]

``marginal_samples=K`` scores K * B marginal pairs (eq. 6's second expectation) instead of B:
the critic's forward and backward on the marginal term grow K-fold, the encoder and decoder do
not. The paper's FC networks (Table 5), latent 20, decoder depth 2, batch 100, real
Fashion-MNIST in memory, ``model.fit`` with the defaults but the MI term's clip off; the arms
``K+mi_clipnorm300`` (for each K of ``--mi-clip-samples``) add it, as the f-KL defaults do
(one backward pass of the critic's loss serves the critic and the MI term, and the encoder's
backward pass runs twice). Repeats are interleaved so that the
shared machine's load hits every K alike; the ratios to K = 1 are what to read. Writes
``benchmarks/results/marginal_samples_cost.json``.
"""

from __future__ import annotations

import argparse
import datetime
import json
import os
import pathlib
import statistics

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import keras  # noqa: E402
import tensorflow as tf  # noqa: E402
from machine import load_average  # noqa: E402  (benchmarks/machine.py)
from step_timer import timed_fit  # noqa: E402
from throughput.ours import IMAGE_SHAPE, LATENT_DIM, images_in_memory, training_dataset  # noqa: E402
from throughput.timing import interleave, step_ms  # noqa: E402

import tf_infomax  # noqa: E402
from tf_infomax.models.methods import FKL_MI_CLIPNORM as MI_CLIPNORM  # noqa: E402

RESULTS = pathlib.Path(__file__).parent / "results" / "marginal_samples_cost.json"
BATCH = 100


def build(k: int, mi_clipnorm: float | None = None) -> keras.Model:
    keras.utils.set_random_seed(0)
    model = tf_infomax.build_model(
        "infomax-vae",
        image_shape=IMAGE_SHAPE,
        latent_dim=LATENT_DIM,
        arch="fc",
        decoder_layers=2,
        marginal_samples=k,
    )
    model.compile(mi_clipnorm=mi_clipnorm)
    return model


def main(argv: list[str] | None = None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--samples", type=int, nargs="+", default=[1, 4, 16])
    parser.add_argument("--mi-clip-samples", type=int, nargs="*", default=[16])
    parser.add_argument("--steps", type=int, default=30)
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--out", type=pathlib.Path, default=RESULTS)
    args = parser.parse_args(argv)
    images = images_in_memory(limit=10_000)
    dataset = training_dataset("memory", BATCH, None, images=images)
    models = {str(k): build(k) for k in args.samples}
    for k in args.mi_clip_samples:
        models[f"{k}+mi_clipnorm{MI_CLIPNORM:g}"] = build(k, MI_CLIPNORM)
    for model in models.values():  # trace and warm up outside the timing
        timed_fit(model, dataset, 5)
    load_start = load_average()

    def per_step(model: keras.Model) -> float:
        return timed_fit(model, dataset, args.steps)[0] / args.steps

    timings = interleave({k: (lambda m=m: per_step(m)) for k, m in models.items()}, args.repeats)
    base = statistics.median(timings[str(args.samples[0])])
    result = {
        "benchmark": "f-KL step time against marginal_samples K (fc, depth 2, batch 100)",
        "command": "python benchmarks/marginal_samples_cost.py",
        "date_utc": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
        "steps": args.steps,
        "repeats": args.repeats,
        "results": {k: step_ms(t) for k, t in timings.items()},
        "step_time_ratio_to_first": {
            k: round(statistics.median(t) / base, 3) for k, t in timings.items()
        },
        "load_average_start": load_start,
        "load_average_end": load_average(),
        "tensorflow": tf.__version__,
    }
    tmp = args.out.with_suffix(".tmp")
    tmp.write_text(json.dumps(result, indent=1) + "\n")
    os.replace(tmp, args.out)
    print(json.dumps(result["step_time_ratio_to_first"]))
    return result


if __name__ == "__main__":
    main()
