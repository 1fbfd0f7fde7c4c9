"""`tf-infomax reproduce EXPERIMENT`: train and evaluate every run of a paper experiment."""

from __future__ import annotations

import argparse


def add_parser(subparsers) -> argparse.ArgumentParser:
    p = subparsers.add_parser(
        "reproduce", help="run a paper experiment (resumable) and collect its metrics"
    )
    p.add_argument("experiment", help="module in trainers/experiments, e.g. fashion_mnist_tables")
    p.add_argument("--root", required=True, help="folder of the run directories")
    p.add_argument("--results", default=None, help="results JSON (rewritten after every run)")
    p.add_argument("--smoke", action="store_true", help="the experiment's tiny variant")
    p.add_argument("--only", nargs="+", default=None, help="run names to run")
    p.add_argument("--eval-limit", type=int, default=None, help="test examples (default all)")
    p.add_argument("--iw-samples", type=int, default=1000, help="K of the IWAE log-likelihood")
    p.add_argument("--iw-limit", type=int, default=1000, help="test examples for the IWAE")
    p.add_argument("--mi-steps", type=int, default=2000, help="post-hoc MI critic steps")
    p.add_argument("--probe-epochs", type=int, default=50, help="max epochs of the MLP probe")
    return p


def run(args: argparse.Namespace) -> int:
    from tf_infomax.metrics.evaluate import EvaluationConfig
    from trainers.study import run_study

    if args.smoke:
        evaluation = EvaluationConfig.tiny()
    else:
        evaluation = EvaluationConfig(
            limit=args.eval_limit,
            iw_samples=args.iw_samples,
            iw_limit=args.iw_limit,
            mi_steps=args.mi_steps,
            probe_max_epochs=args.probe_epochs,
        )
    rows = run_study(
        args.experiment,
        args.root,
        evaluation=evaluation,
        smoke=args.smoke,
        results=args.results,
        only=args.only,
        verbose=2,
    )
    print(f"{len(rows)} runs done" + (f"; rows in {args.results}" if args.results else ""))
    return 0
