"""Run a paper experiment end to end: train every run, evaluate it, collect rows into JSON.

An experiment is a module of ``trainers/experiments`` with ``get_config(smoke)`` (run name ->
``TrainConfig``) and optional hooks, each used by one step here or by ``trainers/report.py``:

* ``evaluation(smoke) -> dict``: its evaluation options (``EvaluationConfig`` fields; the
  ``reproduce`` flags a user gives override them);
* ``after_evaluation(run: RunDir, smoke) -> dict``: extra row values (e.g. figures of its own,
  parameter counts);
* ``figures_for(name) -> tuple``: figures of ``run/figures`` published beside the results;
* ``report(rows, context) -> list[str]``: its Markdown section (default: a runs table).

Every step is resumable: finished trainings and evaluations are skipped, an interrupted
training continues from its last epoch (BackupAndRestore), and the results JSON is rewritten
after each run so partial studies keep their numbers.
"""

from __future__ import annotations

import importlib
import json
import shutil
import time
from pathlib import Path

from tf_infomax.config import TrainConfig
from tf_infomax.metrics.registry import METRICS
from tf_infomax.runs import RunDir, write_json
from tf_infomax.training import TrainingDivergedError, train

# Every registered metric is a column of the rows (tf_infomax/metrics/registry.py).
ROW_METRICS = METRICS


def evaluation_for(experiment: str, smoke: bool = False, given: dict | None = None):
    """The ``EvaluationConfig`` of an experiment: its ``evaluation`` hook, then ``given``."""
    from tf_infomax.metrics.evaluate import EvaluationConfig

    module = experiment_module(experiment)
    options = {**(module.evaluation(smoke) if hasattr(module, "evaluation") else {})}
    options.update(given or {})
    return EvaluationConfig.tiny(**options) if smoke else EvaluationConfig(**options)


def experiment_configs(experiment: str, smoke: bool = False) -> dict[str, TrainConfig]:
    """Run name -> TrainConfig of ``trainers/experiments/<experiment>.py``."""
    return experiment_module(experiment).get_config(smoke=smoke)


def experiment_module(experiment: str):
    try:
        return importlib.import_module(f"trainers.experiments.{experiment}")
    except ModuleNotFoundError as error:
        if error.name != f"trainers.experiments.{experiment}":
            raise
        folder = Path(__file__).parent / "experiments"
        names = sorted(p.stem for p in folder.glob("*.py") if not p.stem.startswith("_"))
        raise ValueError(f"Unknown experiment {experiment!r}; choose one of {names}.") from None


def publish_figures(experiment: str, name: str, run_dir: Path, results_dir: Path) -> list[str]:
    """Copy the figures an experiment publishes for a run (``figures_for(name)``) next to the
    results JSON; returns their paths relative to it."""
    module = experiment_module(experiment)
    wanted = module.figures_for(name) if hasattr(module, "figures_for") else ()
    published = []
    for figure in wanted:
        source = run_dir / "figures" / f"{figure}.png"
        if source.exists():
            target = results_dir / "figures" / experiment / f"{name}_{figure}.png"
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(source, target)
            published.append(str(target.relative_to(results_dir)))
    return published


def _value(entry):
    """A metric's headline value(s) from metrics.json."""
    if isinstance(entry, dict) and "value" in entry:
        return entry["value"]
    if isinstance(entry, dict):
        return {k: _value(v) for k, v in entry.items() if isinstance(v, dict) and "value" in v}
    return entry


def make_row(name: str, run_dir: Path) -> dict:
    """One results row: the run's config, training record and metrics with their settings."""
    run = RunDir(run_dir)
    config = run.config()  # what the run was trained with, not today's defaults
    metrics, history = run.metrics(), run.history()
    row = {
        "run": name,
        "model": config.model.method,
        "arch": config.model.arch,
        "decoder_layers": config.model.decoder_layers or 4,
        "latent_dim": config.model.latent_dim,
        "estimator": config.model.estimator,
        "seed": config.seed,
        "epochs": len(history.get("epoch", [])),
        "train_examples": config.data.limit,
        "train_wall_time_s": round(sum(history.get("wall_time_s", [])), 1),
        "best_epoch": history.get("best_epoch"),
        "final_train_loss": history["loss"][-1] if history.get("loss") else None,
        # Per-epoch logs: training means (the MI bound is the training critic's), val_* and
        # diagnostics; null where an epoch diverged.
        "train_history": {
            k: [None if v is None else round(v, 4) for v in values]
            for k, values in history.items()
            if isinstance(values, list) and k not in ("epoch", "wall_time_s")
        },
        "config": config.to_dict(),
    }
    if run.diverged:
        row["diverged"] = run.diverged
    for key in ROW_METRICS:
        row[key] = _value(metrics.get(key))
    row["evaluation"] = {k: v for k, v in metrics.items() if k not in ROW_METRICS}
    row["metric_settings"] = {
        k: {s: v for s, v in metrics[k].items() if s != "value"}
        for k in ROW_METRICS
        if isinstance(metrics.get(k), dict)
    }
    return row


def run_study(
    experiment: str,
    root: str | Path,
    *,
    evaluation=None,
    smoke: bool = False,
    results: str | Path | None = None,
    only: list[str] | None = None,
    verbose: str | int = "auto",
    reporter=None,
) -> list[dict]:
    """Train and evaluate every run of an experiment under ``root``; write rows to ``results``.

    Args:
        experiment: module name in ``trainers/experiments``.
        root: folder of the run directories (one per run name).
        evaluation: ``EvaluationConfig`` (default: ``evaluation_for(experiment, smoke)``).
        smoke: the experiment's tiny variant.
        results: JSON file of the rows, rewritten after every run; rows of other experiments
            and of this experiment's runs not redone now are kept.
        only: run names to run (default all).
        reporter: progress display of the study (a line per run with the runs done, rate and
            ETA) and of each evaluation's stages; default per ``evaluation.progress``.
    """
    from tf_infomax.metrics.evaluate import evaluate_run
    from tf_infomax.progress import Progress, Reporter

    evaluation = evaluation or evaluation_for(experiment, smoke)
    module = experiment_module(experiment)
    configs = experiment_configs(experiment, smoke)
    unknown = sorted(set(only or []) - set(configs))
    if unknown:
        raise ValueError(f"Unknown runs {unknown}; {experiment} has {sorted(configs)}.")
    root = Path(root)
    results_path = Path(results) if results else None
    kept, others = {}, []
    if results_path and results_path.exists():
        for row in json.loads(results_path.read_text()):
            if row.get("experiment") == experiment and row["run"] in configs:
                kept[row["run"]] = row
            elif row.get("experiment") != experiment:
                others.append(row)
    reporter = reporter or Reporter(evaluation.progress, evaluation.progress_interval)
    selected = [name for name in configs if not only or name in only]
    # One plain line per run, also on a terminal: fit's and evaluate's bars print in between.
    runs_done = Progress(
        f"[{experiment}] study",
        len(selected),
        "run",
        mode="none" if reporter.mode == "none" else "lines",
        interval=0,
        stream=reporter.stream,
    )
    for name in selected:
        config = configs[name]
        run_dir = root / name
        run = RunDir(run_dir)
        started = time.perf_counter()
        diverged = run.diverged is not None
        if not diverged and not run.is_finished:
            print(f"[{experiment}] training {name}", flush=True)
            try:
                train(config, run_dir, verbose=verbose)
            except TrainingDivergedError as error:  # recorded in the row; the study goes on
                print(f"[{experiment}] {name}: {error}", flush=True)
                diverged = True
        if not diverged and not run.is_evaluated:
            print(f"[{experiment}] evaluating {name}", flush=True)
            evaluate_run(run_dir, evaluation, reporter=reporter)
        kept[name] = {"experiment": experiment, **make_row(name, run_dir)}
        if not diverged and hasattr(module, "after_evaluation"):
            kept[name].update(module.after_evaluation(run, smoke))
        if results_path:
            kept[name]["figure_files"] = publish_figures(
                experiment, name, run_dir, results_path.parent
            )
        print(f"[{experiment}] {name} done in {time.perf_counter() - started:.0f}s", flush=True)
        if results_path:
            rows = others + [kept[n] for n in configs if n in kept]
            results_path.parent.mkdir(parents=True, exist_ok=True)
            write_json(results_path, rows)
        runs_done.update(1)
    runs_done.close()
    return [kept[n] for n in configs if n in kept]
