"""First-request latency of exported models with and without their TF Serving warm-up records.

Usage (from the repository root; needs the ``serving`` extra to parse the records):

    python benchmarks/serving_warmup.py [--repeats 3] [--requests 20]

Exports the paper's FC encoder and decoder (latent 20, *untrained*: latency does not depend on
the weights) with ``tf_infomax.serving``, then runs trials, each in a fresh process (a cold
TensorFlow runtime, like a model server that has just loaded a version): load the SavedModel
in a TF1 session as TF Serving does (``tf_infomax.serving.rest.SessionPredictor``), replay its
``assets.extra/tf_serving_warmup_requests`` or not, then time the first real request (one
image to the encoder's ``serving_default``; ``generate(num=1)`` to the decoder) and the
``--requests`` after it. Trials alternate cold and warmed, so background load hits both alike.
Results: ``benchmarks/results/serving_warmup.json``.
"""

from __future__ import annotations

import argparse
import datetime
import json
import os
import pathlib
import platform
import subprocess
import sys
import tempfile
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import numpy as np  # noqa: E402

RESULTS = pathlib.Path(__file__).parent / "results" / "serving_warmup.json"
SIGNATURES = {"encoder": "serving_default", "decoder": "generate"}


def trial(export_dir: str, model: str, warm: bool, requests: int) -> dict:
    """One cold-process trial (run in the child): load, replay or not, time the requests."""
    from tf_infomax.serving import decoder_signatures, signatures
    from tf_infomax.serving.grpc_client import request_arrays
    from tf_infomax.serving.rest import SessionPredictor
    from tf_infomax.serving.warmup import read_warmup

    start = time.perf_counter()
    predictor = SessionPredictor(export_dir)
    load_s = time.perf_counter() - start
    start = time.perf_counter()
    if warm:
        for log in read_warmup(export_dir):
            request = log.predict_log.request
            predictor.run(request.model_spec.signature_name, request_arrays(request))
    replay_ms = 1e3 * (time.perf_counter() - start)
    signature = SIGNATURES[model]
    if model == "encoder":
        raw = np.random.default_rng(1).integers(0, 256, (1, 28, 28, 1), dtype=np.uint8)
        inputs = signatures.request_inputs(raw, signature)
    else:
        inputs = decoder_signatures.request_inputs(signature, 20, n=1, seed=9)
    times = []
    for _ in range(1 + requests):
        start = time.perf_counter()
        predictor.run(signature, inputs)
        times.append(1e3 * (time.perf_counter() - start))
    return {
        "load_s": load_s,
        "replay_ms": replay_ms,
        "first_ms": times[0],
        "later_median_ms": float(np.median(times[1:])),
    }


def export_models(folder: pathlib.Path) -> dict[str, str]:
    import keras

    from tf_infomax import build_model
    from tf_infomax.serving import export_decoder, export_encoder

    keras.utils.set_random_seed(0)
    model = build_model("vae", image_shape=(28, 28, 1), latent_dim=20)
    return {
        "encoder": str(export_encoder(model, folder / "encoder")),
        "decoder": str(export_decoder(model, folder / "decoder")),
    }


def summary(trials: list[dict]) -> dict:
    def median(key):
        return round(float(np.median([t[key] for t in trials])), 3)

    return {
        "trials": len(trials),
        "first_request_ms_median": median("first_ms"),
        "first_request_ms_each": [round(t["first_ms"], 3) for t in trials],
        "later_requests_ms_median": median("later_median_ms"),
        "replay_ms_median": median("replay_ms"),
        "load_s_median": median("load_s"),
    }


def main(argv: list[str] | None = None) -> dict | None:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--repeats", type=int, default=3, help="trials per model and mode")
    p.add_argument("--requests", type=int, default=20, help="timed requests after the first")
    p.add_argument("--out", type=pathlib.Path, default=RESULTS)
    p.add_argument(
        "--child", nargs=3, metavar=("EXPORT_DIR", "MODEL", "WARM"), help=argparse.SUPPRESS
    )
    args = p.parse_args(argv)
    if args.child:
        export_dir, model, warm = args.child
        print(json.dumps(trial(export_dir, model, warm == "1", args.requests)))
        return None

    load_before = os.getloadavg()
    results: dict[str, dict[str, list]] = {m: {"cold": [], "warmed": []} for m in SIGNATURES}
    with tempfile.TemporaryDirectory() as tmp:
        exports = export_models(pathlib.Path(tmp))
        for _ in range(args.repeats):
            for model, path in exports.items():
                for mode in ("cold", "warmed"):
                    flag = "1" if mode == "warmed" else "0"
                    cmd = [sys.executable, __file__, "--requests", str(args.requests),
                           "--child", path, model, flag]  # fmt: skip
                    out = subprocess.run(cmd, capture_output=True, text=True, check=True).stdout
                    results[model][mode].append(json.loads(out.strip().splitlines()[-1]))
    report_results = {}
    for model, modes in results.items():
        cold, warmed = summary(modes["cold"]), summary(modes["warmed"])
        report_results[model] = {
            "signature": SIGNATURES[model],
            "cold": cold,
            "warmed": warmed,
            "first_request_cold_over_warmed": round(
                cold["first_request_ms_median"] / warmed["first_request_ms_median"], 2
            ),
        }
        print(f"{model} {SIGNATURES[model]}: first request {cold['first_request_ms_median']} ms "
              f"cold, {warmed['first_request_ms_median']} ms after warm-up "
              f"(replay {warmed['replay_ms_median']} ms at load); later requests "
              f"{warmed['later_requests_ms_median']} ms")  # fmt: skip

    import tensorflow as tf
    from machine import cpu_model  # benchmarks/machine.py

    report = {
        "what": "latency (ms) of the first request after loading a SavedModel in a TF1 session, "
        "cold or after replaying its warm-up records; each trial in a fresh process",
        "model": {"arch": "fc", "latent_dim": 20, "image_shape": [28, 28, 1], "trained": False},
        "requests_after_first": args.requests,
        "results": report_results,
        "machine": {
            "cpu_model": cpu_model(),
            "cpus_available": len(os.sched_getaffinity(0)),
            "load_average_before": [round(x, 2) for x in load_before],
            "load_average_after": [round(x, 2) for x in os.getloadavg()],
        },
        "versions": {"tensorflow": tf.__version__, "python": platform.python_version()},
        "date": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
        "command": "python benchmarks/serving_warmup.py "
        + " ".join(argv if argv is not None else sys.argv[1:]),
    }
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(report, indent=1) + "\n")
    print(f"wrote {args.out}")
    return report


if __name__ == "__main__":
    main()
