"""Re-estimate one metric of trained runs with other settings, leaving their metrics.json as is.

Shared by the estimator checks (``trainers.iwae_k``: K of the IWAE bound; ``trainers.mi_steps``:
the post-hoc MI critic's steps and seed).
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path


def reestimate(run_dir: Path, metric: str, *, seed: int = 0, **settings) -> tuple[dict, dict]:
    """The run's identifying columns and ``metric``'s entry evaluated with ``settings`` (fields
    of ``EvaluationConfig``), the entry with its wall time in ``seconds``."""
    from tf_infomax.metrics.evaluate import EvaluationConfig, evaluate_run
    from tf_infomax.training import load_config

    config = load_config(run_dir)
    evaluation = EvaluationConfig(metrics=(metric,), figures=False, seed=seed, **settings)
    started = time.perf_counter()
    result = evaluate_run(run_dir, evaluation, write=False)[metric]
    result = {**result, "seconds": round(time.perf_counter() - started, 1)}
    columns = {
        "run": run_dir.name,
        "model": config.model.method,
        "estimator": config.model.estimator,
        "decoder_layers": config.model.decoder_layers,
        "seed": config.seed,
    }
    return columns, result


def check_trained(parser: argparse.ArgumentParser, runs: list[Path]) -> None:
    """Refuse, before any work, paths that are not trained run directories."""
    missing = [str(r) for r in runs if not (r / "model.keras").exists()]
    if missing:
        parser.error(f"not trained run directories (no model.keras): {missing}")


def write_rows(out: Path, rows: list[dict]) -> None:
    """The rows as one JSON list, written atomically."""
    from tf_infomax.runs import write_json

    out.parent.mkdir(parents=True, exist_ok=True)
    write_json(out, rows)
    print(f"wrote {out} ({len(rows)} rows)")
