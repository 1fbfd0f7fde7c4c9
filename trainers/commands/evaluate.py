"""`tf-infomax evaluate DIR`: metrics.json and figures/ for a trained run directory.

Every field of ``tf_infomax.metrics.EvaluationConfig`` is a flag (generated from its fields).
"""

from __future__ import annotations

import argparse
import json


def add_parser(subparsers) -> argparse.ArgumentParser:
    from tf_infomax.config import add_arguments
    from tf_infomax.metrics.evaluate import EvaluationConfig

    p = subparsers.add_parser(
        "evaluate", help="compute AU, KL, MI, log-likelihood, probes and figures of a run"
    )
    p.add_argument("run_dir", metavar="DIR", help="run directory written by `tf-infomax train`")
    add_arguments(p, EvaluationConfig)
    return p


def run(args: argparse.Namespace) -> int:
    from tf_infomax.config import given_options
    from tf_infomax.metrics.evaluate import EvaluationConfig, evaluate_run
    from tf_infomax.runs import METRICS_FILE

    config = EvaluationConfig(**given_options(args, EvaluationConfig))
    results = evaluate_run(args.run_dir, config)
    summary = {name: results[name]["value"] for name in config.metrics}
    print(json.dumps(summary, indent=1))
    print(f"wrote {args.run_dir}/{METRICS_FILE} in {results['evaluation']['time_s']:.1f} s")
    if "figures" in results and "paths" in results["figures"]:
        print(f"figures in {args.run_dir}/figures/")
    if "projector" in results:
        logs = f"{args.run_dir}/logs"
        print(f"projector in {logs}/projector/ (tensorboard --logdir {logs})")
    return 0
