"""`tf-infomax evaluate DIR`: metrics.json and figures/ for a trained run directory."""

from __future__ import annotations

import argparse
import json


def add_parser(subparsers) -> argparse.ArgumentParser:
    from tf_infomax.metrics.evaluate import METRICS, EvaluationConfig
    from tf_infomax.metrics.mutual_information import MI_BOUNDS

    defaults = EvaluationConfig()
    p = subparsers.add_parser(
        "evaluate", help="compute AU, KL, MI, log-likelihood, probes and figures of a run"
    )
    p.add_argument("run_dir", metavar="DIR", help="run directory written by `tf-infomax train`")
    p.add_argument("--split", default=defaults.split)
    p.add_argument("--limit", type=int, default=None, help="evaluate the first N examples")
    p.add_argument(
        "--train-limit",
        type=int,
        default=defaults.train_limit,
        help="training examples for the probes and the MI critic (0: all)",
    )
    p.add_argument(
        "--iw-samples",
        type=int,
        default=defaults.iw_samples,
        help="K of the importance-weighted log-likelihood (standard 5000; a GPU's job)",
    )
    p.add_argument(
        "--iw-limit",
        type=int,
        default=defaults.iw_limit,
        help="log-likelihood on the first N evaluation examples only (0: all)",
    )
    p.add_argument("--threshold", type=float, default=defaults.threshold, help="AU epsilon")
    p.add_argument("--mi-bound", default=defaults.mi_bound, choices=MI_BOUNDS)
    p.add_argument("--mi-steps", type=int, default=defaults.mi_steps)
    p.add_argument("--batch-size", type=int, default=defaults.batch_size)
    p.add_argument(
        "--metrics",
        nargs="+",
        choices=METRICS,
        default=list(METRICS),
        metavar="NAME",
        help=f"metrics to compute (default all: {', '.join(METRICS)})",
    )
    p.add_argument("--no-figures", action="store_true")
    p.add_argument("--seed", type=int, default=defaults.seed)
    return p


def run(args: argparse.Namespace) -> int:
    from tf_infomax.metrics.evaluate import METRICS_FILE, EvaluationConfig, evaluate_run

    config = EvaluationConfig(
        split=args.split,
        limit=args.limit,
        train_limit=args.train_limit or None,
        iw_samples=args.iw_samples,
        iw_limit=args.iw_limit or None,
        threshold=args.threshold,
        mi_bound=args.mi_bound,
        mi_steps=args.mi_steps,
        batch_size=args.batch_size,
        metrics=tuple(args.metrics),
        figures=not args.no_figures,
        seed=args.seed,
    )
    results = evaluate_run(args.run_dir, config)
    summary = {name: results[name]["value"] for name in config.metrics}
    print(json.dumps(summary, indent=1))
    print(f"wrote {args.run_dir}/{METRICS_FILE} in {results['evaluation']['time_s']:.1f} s")
    if "figures" in results and "paths" in results["figures"]:
        print(f"figures in {args.run_dir}/figures/")
    return 0
