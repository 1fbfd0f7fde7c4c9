"""The result of a training-throughput run: the JSON written to
``benchmarks/results/train_throughput.json`` (read by ``benchmarks/render_throughput.py`` and
docs/performance.md: add keys, never rename or drop them) and its console table."""

from __future__ import annotations

import datetime
import json
import os
import pathlib
import platform
import time

import keras
import numpy as np
import tensorflow as tf
from machine import busy_processes, cpu_flags, cpu_model, load_average, package_version

from .flops import FORMULA
from .ours import LATENT_DIM, METHODS
from .timing import summarize

TARGETS = {
    "infomax_vae_over_pythae_vae": 1.2,
    "vae_fraction_of_matmul_limit": 0.70,
    "infomax_vae_step_over_vae_step_max": 1.3,
}


def ratio(a, b):
    return round(a / b, 3) if a and b else None


def assemble(args, info: dict, seconds: dict, limit, worker_info, run: dict) -> dict:
    """The result JSON. ``seconds``: per configuration, (wall, CPU) seconds of ``args.steps``
    steps per repeat; ``run``: command, started, load_start, busy_start, threads."""
    batch = args.batch_size
    configurations = {}
    for key, timings in seconds.items():
        entry = dict(info[key])
        entry.update(summarize(timings, args.steps, batch))
        configurations[key] = entry
    add_flop_rates(configurations, limit)
    headline = make_headline(configurations, args.archs, args.pythae_loops, limit)
    threading = tf.config.threading
    return {
        "benchmark": "training throughput, examples/s (issue 6)",
        "command": run["command"],
        "date_utc": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
        "quick": args.quick,
        "settings": {
            "batch_size": batch,
            "latent_dim": LATENT_DIM,
            "steps_per_repeat": args.steps,
            "repeats": args.repeats,
            "warmup_steps": args.warmup_steps,
            "pipeline": args.pipeline,
            "data": "fashion_mnist train (real, TFDS)"
            + (f", first {args.limit} images" if args.limit else ""),
            "statistic": "per configuration, the mean step time of `steps` steps per repeat; "
            "median (and best) over repeats; configurations interleaved, order rotated per "
            "repeat. cpu_ms_per_step: the process's CPU time (all threads), less sensitive to "
            "other processes than wall time (spin-waiting threads count)",
            "infomax_vae": "alpha = 10, f-kl estimator, critic MLP 804-1000-400-100-1 with "
            "Adam(1e-4)",
            "optimizer": "Adam(1e-3) (ours and pythae)",
        },
        "headline": headline,
        "targets": TARGETS,
        "targets_reached": check_targets(headline),
        "configurations": configurations,
        "matmul_limit": limit,
        "flops_formula": FORMULA,
        "versions": {
            "python": platform.python_version(),
            "tensorflow": tf.__version__,
            "keras": keras.__version__,
            "tensorflow_probability": package_version("tensorflow-probability"),
            "tf_infomax": package_version("tf-infomax"),
            "numpy": np.__version__,
            "pythae_side": worker_info,
        },
        "machine": {
            "cpu_model": cpu_model(),
            "cpu_flags": cpu_flags(),
            "cpu_count": os.cpu_count(),
            "cpus_usable": len(os.sched_getaffinity(0)),
            "tf_intra_op_threads": run["threads"],
            "tf_intra_op_threads_configured": threading.get_intra_op_parallelism_threads(),
            "tf_inter_op_threads_configured": threading.get_inter_op_parallelism_threads(),
            "torch_num_threads": run["threads"] if worker_info else None,
            "load_average_start": run["load_start"],
            "load_average_end": load_average(),
            "busy_processes_start": run["busy_start"],
            "busy_processes_end": busy_processes(),
            "note": "shared machine: a load average above the CPU count means the benchmark got "
            "only part of the CPU; configurations are interleaved so that comparisons within "
            "one run stay fair; 'best' figures are the least disturbed repeat.",
        },
        "wall_seconds": round(time.perf_counter() - run["started"], 1),
    }


def write(result: dict, out: pathlib.Path) -> None:
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(result, indent=2) + "\n")


def add_flop_rates(configurations: dict, limit: dict | None) -> None:
    """Achieved GFLOP/s (algorithmic count) and, for FC, the fraction of the matmul limit."""
    for key, entry in configurations.items():
        if key.startswith("ours/"):
            fpe = entry["flops_per_example"]["algorithmic"]
        else:  # pythae's VAE does the same work as our VAE of that architecture
            same = [k for k in configurations if k.startswith(f"ours/{entry['arch']}/vae/")]
            if not same:
                continue
            ours = configurations[same[0]]
            fpe = ours["flops_per_example"]["vae_part"]
        entry["gflops_median"] = round(entry["examples_per_s_median"] * fpe / 1e9, 2)
        entry["gflops_best"] = round(entry["examples_per_s_best"] * fpe / 1e9, 2)
        if limit is None:
            continue
        if entry["arch"] == "fc":
            lim = limit["limits"][entry["method"]]["limit_examples_per_s"]
            entry["fraction_of_matmul_limit_median"] = round(
                entry["examples_per_s_median"] / lim, 3
            )
            entry["fraction_of_matmul_limit_best"] = round(entry["examples_per_s_best"] / lim, 3)
        else:
            peak = limit["peak_gflops_measured"]
            entry["fraction_of_peak_matmul_gflops_median"] = round(entry["gflops_median"] / peak, 3)


def make_headline(configurations: dict, archs, pythae_loops, limit) -> dict:
    """Per arch: our best configuration per method, pythae's faster policy per loop, ratios."""
    headline = {}
    for arch in archs:
        row: dict = {}

        def best_of(prefix):
            keys = [k for k in configurations if k.startswith(prefix)]
            if not keys:
                return None
            key = max(keys, key=lambda k: configurations[k]["examples_per_s_median"])
            c = configurations[key]
            return {
                "configuration": key,
                "examples_per_s": c["examples_per_s_median"],
                "step_ms": c["step_ms_median"],
                "examples_per_s_best_repeat": c["examples_per_s_best"],
            }

        for method in METHODS:
            row[method] = best_of(f"ours/{arch}/{method}/")
        for loop in pythae_loops:
            found = best_of(f"pythae/{arch}/vae/{loop}/")
            if found:
                row[f"pythae_vae_{loop}"] = found
        ratios = {
            "infomax_vae_step_over_vae_step": ratio(
                row["infomax-vae"]["step_ms"], row["vae"]["step_ms"]
            )
        }
        variants = sorted({k.split("/", 3)[3] for k in configurations if k.startswith("ours/")})
        for variant in variants:
            ratios[f"infomax_vae_step_over_vae_step_{variant}"] = ratio(
                configurations[f"ours/{arch}/infomax-vae/{variant}"]["step_ms_median"],
                configurations[f"ours/{arch}/vae/{variant}"]["step_ms_median"],
            )
        for method in METHODS:
            for variant in variants:
                base = configurations[f"ours/{arch}/{method}/{variant}"]["step_ms_median"]
                mode, onednn = variant.split("/")
                if mode == "graph" and f"ours/{arch}/{method}/xla/{onednn}" in configurations:
                    xla = configurations[f"ours/{arch}/{method}/xla/{onednn}"]["step_ms_median"]
                    ratios[f"{method}_xla_speedup_{onednn}"] = ratio(base, xla)
                if onednn == "onednn-off" and f"ours/{arch}/{method}/{mode}/onednn-on" in (
                    configurations
                ):
                    on = configurations[f"ours/{arch}/{method}/{mode}/onednn-on"]["step_ms_median"]
                    ratios[f"{method}_onednn_speedup_{mode}"] = ratio(base, on)
        for loop in pythae_loops:
            if f"pythae_vae_{loop}" in row:
                p = row[f"pythae_vae_{loop}"]["examples_per_s"]
                ratios[f"infomax_vae_over_pythae_vae_{loop}"] = ratio(
                    row["infomax-vae"]["examples_per_s"], p
                )
                ratios[f"vae_over_pythae_vae_{loop}"] = ratio(row["vae"]["examples_per_s"], p)
        if limit is not None and arch == "fc":
            for method in METHODS:
                c = configurations[row[method]["configuration"]]
                name = method.replace("-", "_")
                ratios[f"{name}_fraction_of_matmul_limit"] = c["fraction_of_matmul_limit_median"]
                ratios[f"{name}_fraction_of_matmul_limit_best_repeat"] = c[
                    "fraction_of_matmul_limit_best"
                ]
        row["ratios"] = ratios
        headline[arch] = row
    return headline


def check_targets(headline: dict) -> dict:
    """The issue's targets, on the FC headline (medians); None where not measured."""
    if "fc" not in headline:
        return {}
    r = headline["fc"]["ratios"]
    vs_pythae = [v for k, v in r.items() if k.startswith("infomax_vae_over_pythae_vae_") and v]
    fraction = r.get("vae_fraction_of_matmul_limit")
    return {
        "infomax_vae_over_pythae_vae_ge_1.2 (vs the faster pythae loop)": (
            min(vs_pythae) >= TARGETS["infomax_vae_over_pythae_vae"] if vs_pythae else None
        ),
        "vae_ge_70pct_of_matmul_limit": (
            fraction >= TARGETS["vae_fraction_of_matmul_limit"] if fraction else None
        ),
        "infomax_vae_step_le_1.3x_vae_step": (
            r["infomax_vae_step_over_vae_step"] <= TARGETS["infomax_vae_step_over_vae_step_max"]
        ),
    }


def print_table(result: dict) -> None:
    print()
    header = f"{'configuration':38} {'examples/s':>10} {'best':>7} {'step ms':>8} {'GFLOP/s':>8}"
    print(header + f" {'of limit':>8}")
    for key, entry in result["configurations"].items():
        frac = entry.get("fraction_of_matmul_limit_median")
        gflops = entry.get("gflops_median")
        print(
            f"{key:38} {entry['examples_per_s_median']:10,.0f} "
            f"{entry['examples_per_s_best']:7,.0f} "
            f"{entry['step_ms_median']:8.1f} "
            f"{(f'{gflops:.1f}' if gflops is not None else '-'):>8} "
            f"{(f'{frac:.0%}' if frac is not None else '-'):>8}"
        )
    limit = result.get("matmul_limit")
    if limit:
        for method, lim in limit["limits"].items():
            print(
                f"matmul limit fc/{method}: {lim['limit_examples_per_s']:,.0f} examples/s "
                f"({lim['limit_gflops_weighted']} GFLOP/s over its GEMM shapes; best single "
                f"shape {limit['peak_gflops_measured']} GFLOP/s)"
            )
    for arch, row in result["headline"].items():
        print(f"{arch}: " + ", ".join(f"{k} {v}" for k, v in row["ratios"].items()))
    print(f"targets reached: {result['targets_reached']}")
    m = result["machine"]
    print(
        f"load average start {m['load_average_start']} end {m['load_average_end']} "
        f"on {m['cpus_usable']} CPUs ({m['cpu_model']})"
    )
