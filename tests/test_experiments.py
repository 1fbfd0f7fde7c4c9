"""Every experiment's smoke variant is found, valid, and the stability studies run end to end."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tf_infomax.config import TrainConfig
from tf_infomax.training import check_config
from trainers.cli import main
from trainers.stability_report import lowest_mi, worst_drop
from trainers.study import experiment_configs

EXPERIMENTS = sorted(
    p.stem
    for p in (Path(__file__).parents[1] / "trainers" / "experiments").glob("*.py")
    if not p.stem.startswith("_")
)


@pytest.mark.parametrize("experiment", EXPERIMENTS)
def test_every_experiment_has_a_valid_smoke_variant(experiment):
    for smoke in (True, False):
        configs = experiment_configs(experiment, smoke=smoke)
        assert configs and all(isinstance(c, TrainConfig) for c in configs.values())
        for config in configs.values():
            check_config(config)  # option values a training accepts
    assert len(experiment_configs(experiment, smoke=True)) <= len(experiment_configs(experiment))


@pytest.mark.parametrize(
    ("experiment", "run"),
    [("fashion_mnist_convergence", "infomax-vae_d4_s0"), ("fashion_mnist_ablation", None)],
)
def test_stability_studies_write_rows_and_their_report(tmp_path, experiment, run):
    results = tmp_path / "rows.json"
    only = ["--only", run] if run else ["--only", "infomax-vae_d2_s0_defaults"]
    args = ["reproduce", experiment, "--root", str(tmp_path / "runs"), "--smoke"]
    assert main([*args, "--results", str(results), *only]) == 0
    (row,) = json.loads(results.read_text())
    assert {"estimator", "best_epoch", "train_history"} <= set(row)
    assert len(row["train_history"]["val_loss"]) == row["epochs"]
    if experiment == "fashion_mnist_convergence":
        losses = row["train_history"]["val_neg_elbo"]
        assert row["best_epoch"] == 1 + losses.index(min(losses))
    markdown = tmp_path / "report.md"
    assert main(["report", "--results", str(results), "--out", str(markdown)]) == 0
    assert f"| {row['run']} |" in markdown.read_text()


def test_degradation_measures():
    assert worst_drop([5, 4, 3, 3, 3, 2, 6, 2.5]) == 4  # epoch 7 is 4 nats above the best
    assert worst_drop([5, 4, 3]) is None  # too short to judge
    assert lowest_mi([-1.0, 2.0, 0.5, None]) == -float("inf")  # a diverged epoch counts
    assert lowest_mi([-1.0, 2.0, 0.5]) == 0.5  # the first epoch does not
