"""`tf-infomax evaluate DIR` end to end on a model trained on the tiny offline digits."""

from __future__ import annotations

import json

import pytest

from tf_infomax.metrics import METRICS
from trainers.cli import main

TINY_TRAIN = ["--dataset", "sklearn_digits", "--latent-dim", "3", "--limit", "300"]
TINY_EVAL = ["--limit", "120", "--train-limit", "300", "--iw-samples", "10", "--mi-steps", "20"]


@pytest.fixture(scope="module")
def run_dir(tmp_path_factory):
    out = tmp_path_factory.mktemp("evaluate") / "run"
    args = ["train", "--model", "infomax-vae", *TINY_TRAIN, "--batch-size", "50"]
    assert main([*args, "--validation-limit", "0", "--out", str(out)]) == 0
    return out


def test_evaluate_writes_metrics_and_figures(run_dir, capsys):
    assert main(["evaluate", str(run_dir), *TINY_EVAL, "--seed", "3"]) == 0
    metrics = json.loads((run_dir / "metrics.json").read_text())
    assert set(METRICS) <= set(metrics)
    for name in METRICS:
        assert metrics[name]["split"] == "test" and metrics[name]["seed"] == 3, name
        assert metrics[name]["num_examples"] == 120 and metrics[name]["time_s"] >= 0, name
    assert metrics["log_likelihood"]["num_samples"] == 10
    assert metrics["log_likelihood"]["value"] < 0
    assert metrics["mutual_information"]["steps"] == 20
    assert metrics["probe_accuracy"]["num_train"] == 300
    assert metrics["probe_accuracy"]["mlp"]["hidden_units"] == [1000, 500, 100]
    assert metrics["evaluation"]["dataset"] == "sklearn_digits"
    assert metrics["evaluation"]["model"] == "infomax-vae"
    assert metrics["figures"]["paths"]["samples"] == "figures/samples.png"  # relative to DIR
    figures = sorted(p.name for p in (run_dir / "figures").iterdir())
    assert figures == [
        "aggregate_posterior.png",
        "latent_codes.png",
        "reconstructions.png",
        "samples.png",
        "traversals.png",
        "tsne.png",
    ]
    out = capsys.readouterr().out
    assert "wrote" in out and "metrics.json" in out


def test_evaluating_some_metrics_keeps_the_others(run_dir):
    before = json.loads((run_dir / "metrics.json").read_text())
    args = ["evaluate", str(run_dir), "--metrics", "active_units", "--threshold", "0.5"]
    assert main([*args, "--no-figures"]) == 0
    after = json.loads((run_dir / "metrics.json").read_text())
    assert after["active_units"]["threshold"] == 0.5
    assert after["active_units"]["num_examples"] == 297  # the whole digits test split
    assert after["log_likelihood"] == before["log_likelihood"]


def test_evaluate_reports_a_missing_run(tmp_path, capsys):
    assert main(["evaluate", str(tmp_path / "nowhere")]) == 2
    assert "not a run directory" in capsys.readouterr().err
