"""The machine's dense fp32 limit: ``tf.matmul`` GFLOP/s at every GEMM shape of the FC training
step (forward, weight gradient, input gradient of each layer; graph and XLA, oneDNN on and off,
best of all), and the time the step's GEMMs would take at those rates: the examples/s limit of
the FC models."""

from __future__ import annotations

import statistics
import time

import tensorflow as tf

import tf_infomax

from .flops import gemm_cases
from .ours import LATENT_DIM, METHODS


def tf_matmul_timer(case, jit: bool, target_flops: float):
    """A callable timing ~target_flops of tf.matmul at one shape; returns GFLOP/s."""
    m, k, n, ta, tb = case
    # The product is summed so that no compiler can compute only part of it (XLA rewrites a
    # slice of a dot into a dot of slices); the m n adds are counted as work.
    flops = 2.0 * m * k * n + m * n
    iters = max(3, int(target_flops / flops))
    a = tf.random.normal((k, m) if ta else (m, k))
    b = tf.random.normal((n, k) if tb else (k, n))

    @tf.function(jit_compile=jit)
    def run(a, b):
        def body(i, acc):
            # acc * 0 keeps the product inside the loop (no hoisting); the add is O(m k).
            c = tf.matmul(a + acc * 0.0, b, transpose_a=ta, transpose_b=tb)
            return i + 1, acc + tf.reduce_sum(c) * 1e-30

        return tf.while_loop(
            lambda i, _: i < iters, body, (tf.constant(0), tf.constant(0.0)), parallel_iterations=1
        )[1]

    run(a, b).numpy()  # trace, compile

    def timed() -> float:
        start = time.perf_counter()
        run(a, b).numpy()
        return flops * iters / (time.perf_counter() - start) / 1e9

    return timed


def matmul_rates(cases: list[tuple], repeats: int, target_flops: float) -> list[dict]:
    """Per case: best and median GFLOP/s of ``repeats`` timings, graph and XLA interleaved."""
    out = []
    for case in cases:
        timers = {jit: tf_matmul_timer(case, jit, target_flops) for jit in (False, True)}
        samples = {False: [], True: []}
        for _ in range(repeats):
            for jit, timer in timers.items():
                samples[jit].append(timer())
        out.append(
            {
                mode: {
                    "best": round(max(samples[jit]), 2),
                    "median": round(statistics.median(samples[jit]), 2),
                }
                for mode, jit in (("graph", False), ("xla", True))
            }
        )
    return out


def limits(models: dict, batch: int, rates_by_setting: dict[str, list[dict]], cases) -> dict:
    """The examples/s limit of each FC model implied by the GEMM rates at its shapes.

    A limit is a ceiling: each shape's rate is the best timing over repeats, over graph and
    XLA, and over the oneDNN settings measured, so that contention from other processes lowers
    it as little as possible. A model's limit is the time its step's GEMMs take at those rates.
    """
    best = {}
    rates = []
    for i, case in enumerate(cases):
        entry = {
            "shape": list(case[:3]),
            "transpose_a": case[3],
            "transpose_b": case[4],
        }
        for setting, per_case in rates_by_setting.items():
            for mode, stats in per_case[i].items():
                entry[f"gflops_{mode}_{setting}_best"] = stats["best"]
                entry[f"gflops_{mode}_{setting}_median"] = stats["median"]
        best[case] = max(v for k, v in entry.items() if k.endswith("_best"))
        entry["gflops_best_of_all"] = best[case]
        rates.append(entry)
    out = {}
    for method, model in models.items():
        counted = gemm_cases(model, batch)
        flops = sum(2.0 * c[0] * c[1] * c[2] * count for c, count in counted)
        seconds = sum(2.0 * c[0] * c[1] * c[2] * count / (best[c] * 1e9) for c, count in counted)
        out[method] = {
            "gemm_flops_per_step": flops,
            "gemm_flops_per_example": flops / batch,
            "limit_step_ms": round(seconds * 1e3, 3),
            "limit_examples_per_s": round(batch / seconds, 1),
            "limit_gflops_weighted": round(flops / seconds / 1e9, 2),
        }
    return {
        "method": "tf.matmul (its product summed) in a tf.function while_loop, graph and "
        "jit_compile=True, under each TF_ENABLE_ONEDNN_OPTS setting measured; best timing per "
        "shape over all; a model's limit = the time its step's GEMMs take at those rates",
        "settings": sorted(rates_by_setting),
        "rates": rates,
        "peak_gflops_measured": round(max(best.values()), 2),
        "limits": out,
    }


def measure(batch: int, local_onednn: bool, tf_remote, quick: bool) -> dict:
    """The FC limit, from rates measured here and (other oneDNN setting) in ``tf_remote``."""
    fc_models = {
        m: tf_infomax.build_model(m, image_shape=(28, 28, 1), latent_dim=LATENT_DIM)
        for m in METHODS
    }
    cases = [c for c, _ in gemm_cases(fc_models["infomax-vae"], batch)]
    repeats, target = (2, 1e8) if quick else (5, 1e9)
    rates = {f"onednn_{'on' if local_onednn else 'off'}": matmul_rates(cases, repeats, target)}
    if tf_remote is not None:
        rates[f"onednn_{'off' if local_onednn else 'on'}"] = tf_remote.ask(
            op="matmul",
            cases=[list(c) for c in cases],
            repeats=repeats,
            target_flops=target,
        )["rates"]
    return limits(fc_models, batch, rates, cases)
