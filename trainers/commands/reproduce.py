"""`tf-infomax reproduce EXPERIMENT`: train and evaluate every run of a paper experiment.

The evaluation flags are those of ``tf-infomax evaluate`` (one source of defaults:
``EvaluationConfig``), with ``--eval-limit`` for ``--limit`` and ``--probe-epochs`` for
``--probe-max-epochs``.
"""

from __future__ import annotations

import argparse

# Evaluation options whose flag here differs from `tf-infomax evaluate` (kept since 0.1).
RENAMES = {"limit": "eval_limit", "probe_max_epochs": "probe_epochs"}


def add_parser(subparsers) -> argparse.ArgumentParser:
    from tf_infomax.config import add_arguments
    from tf_infomax.metrics.evaluate import EvaluationConfig

    p = subparsers.add_parser(
        "reproduce", help="run a paper experiment (resumable) and collect its metrics"
    )
    p.add_argument("experiment", help="module in trainers/experiments, e.g. fashion_mnist_tables")
    p.add_argument("--root", required=True, help="folder of the run directories")
    p.add_argument("--results", default=None, help="results JSON (rewritten after every run)")
    p.add_argument("--smoke", action="store_true", help="the experiment's tiny variant")
    p.add_argument("--only", nargs="+", default=None, help="run names to run")
    add_arguments(p, EvaluationConfig, renames=RENAMES)
    return p


def run(args: argparse.Namespace) -> int:
    from tf_infomax.config import given_options
    from tf_infomax.metrics.evaluate import EvaluationConfig
    from trainers.study import evaluation_for, run_study

    given = given_options(args, EvaluationConfig, RENAMES)
    evaluation = evaluation_for(args.experiment, args.smoke, given)
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
