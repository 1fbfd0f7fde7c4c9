"""Every experiment's smoke variant is found, valid and run through the study pipeline; the
stability studies' rows and report in detail."""

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


OFFLINE_DATASETS = {"fashion_mnist", "sklearn_digits"}


# Experiments whose smoke runs a fuller test takes through the study (every metric, figures,
# hooks): the case below would repeat them.
RUN_BY = {  # experiment -> (test module, how it hands the experiment to `reproduce`)
    "fashion_mnist_tables": ("test_study.py", '("fashion_mnist_tables", ['),
    "fashion_mnist_2d": ("test_study.py", '("fashion_mnist_2d", ['),
    "fashion_mnist_long": ("test_study.py", '("fashion_mnist_long", ['),
    "pixelvae": ("test_architectures.py", '["reproduce", "pixelvae", '),
}


def test_the_experiments_run_elsewhere_exist_and_are_run_there():
    tests = Path(__file__).parent
    for experiment, (module, call) in RUN_BY.items():
        assert experiment in EXPERIMENTS
        assert call in (tests / module).read_text(), (experiment, module)


@pytest.mark.parametrize("experiment", [e for e in EXPERIMENTS if e not in RUN_BY])
def test_every_experiment_smoke_variant_runs_through_the_study(tmp_path, monkeypatch, experiment):
    # One run of each: trained, evaluated (two cheap metrics), its hooks called, row written,
    # report rendered. CIFAR/CelebA (no download here) run on TFDS mock data.
    import contextlib

    import tensorflow_datasets as tfds

    from tf_infomax.data import sources

    name, config = next(iter(experiment_configs(experiment, smoke=True).items()))
    for other in EXPERIMENTS[: EXPERIMENTS.index(experiment)]:
        if experiment_configs(other, smoke=True) == experiment_configs(experiment, smoke=True):
            pytest.skip(f"its smoke runs are {other}'s, run by that case")
    mock = contextlib.nullcontext()
    if config.data.dataset not in OFFLINE_DATASETS:
        monkeypatch.setattr(sources, "_probe_builder", lambda builder: None)
        mock = tfds.testing.mock_data(num_examples=8)
    results, markdown = tmp_path / "rows.json", tmp_path / "report.md"
    args = ["reproduce", experiment, "--root", str(tmp_path / "runs"), "--smoke", "--only", name]
    args += ["--results", str(results), "--metrics", "active_units", "kl", "--no-figures"]
    with mock:
        assert main(args) == 0
    (row,) = json.loads(results.read_text())
    assert row["run"] == name and row["experiment"] == experiment and "kl" in row
    assert {"estimator", "best_epoch", "train_history"} <= set(row)
    if config.data.validation_limit != 0:
        assert len(row["train_history"]["val_loss"]) == row["epochs"]
    if config.optimization.keep_best:  # fashion_mnist_convergence
        losses = row["train_history"]["val_neg_elbo"]
        assert row["best_epoch"] == 1 + losses.index(min(losses))
    assert main(["report", "--results", str(results), "--out", str(markdown)]) == 0
    text = markdown.read_text()
    assert f"## {experiment}" in text and f"| {name} |" in text


def test_degradation_measures():
    assert worst_drop([5, 4, 3, 3, 3, 2, 6, 2.5]) == 4  # epoch 7 is 4 nats above the best
    assert worst_drop([5, 4, 3]) is None  # too short to judge
    assert lowest_mi([-1.0, 2.0, 0.5, None]) == -float("inf")  # a diverged epoch counts
    assert lowest_mi([-1.0, 2.0, 0.5]) == 0.5  # the first epoch does not


def test_noise_and_trend_measures():
    from trainers.stability_report import epoch_noise, last_change

    assert epoch_noise([9, 9, 9, 9, 9, 1, 2, 1, 2], after=5) == pytest.approx((4 / 3) ** 0.5)
    assert epoch_noise([1, 2, 3, 4, 5, 6, 7, 8], after=5) == 0.0  # a steady trend is not noise
    assert last_change([10, 9, 8, 7, 6, 5], epochs=5) == -5
    assert last_change([1, 2], epochs=5) is None


def test_the_convergence_targets_are_judged_on_the_means_over_seeds():
    from trainers.stability_report import convergence_targets

    def row(run, ll, mi, au, val, au_05=None):
        history = {"val_neg_elbo": val, "mi": [0.5] * len(val)}
        settings = {"active_units": {"count_at_paper_threshold": au if au_05 is None else au_05}}
        return dict(
            run=run, decoder_layers=2, log_likelihood=ll, mutual_information=mi,
            active_units=au, train_history=history, metric_settings=settings,
        )  # fmt: skip

    steady, bumpy = [9, 8, 7, 6, 5, 4, 4], [9, 8, 7, 6, 5, 4, 8]
    rows = [
        row("vae_d2_s0", -240.0, 3.0, 6, steady),
        row("vae_d2_s1", -238.0, 3.0, 6, steady),
        row("cand_d2_s0", -242.0, 3.5, 12, steady, au_05=7),
        row("cand_d2_s1", -241.0, 3.2, 10, bumpy, au_05=8),  # 4 nats above its best at epoch 7
    ]
    lines = convergence_targets(rows, "cand", "Candidate")
    verdicts = {line.split(" | ")[1]: line.split(" | ")[2:] for line in lines[2:]}
    assert verdicts["no val -ELBO drop > 3 nats after ep. 5"] == ["4.00", "-", "2 / 2", "NO |"]
    assert verdicts["LL >= VAE - 2"] == ["-241.50", "-239.00", "2 / 2", "NO |"]  # -0.5 short
    assert verdicts["MI >= VAE + 0.3"][-1] == "yes |"  # mean 3.35 >= 3.0 + 0.3
    assert verdicts["AU >= VAE + 5"][-1] == "yes |"  # mean 11 >= 6 + 5
    # Beside it, not a target: the count at the paper's epsilon, without the small variances.
    assert verdicts["(AU at the paper's 0.05 >= VAE + 5)"] == ["7.50", "6.00", "2 / 2", "NO |"]

    # A run that diverged (no test metrics) fails stability however smooth its epochs were.
    rows[3] = dict(row("cand_d2_s1", None, None, None, steady), diverged={"epoch": 8})
    lines = convergence_targets(rows, "cand", "Candidate")
    verdicts = {line.split(" | ")[1]: line.split(" | ")[2:] for line in lines[2:]}
    assert verdicts["no val -ELBO drop > 3 nats after ep. 5"][-2:] == ["2 / 2 (1 diverged)", "NO |"]
    assert verdicts["LL >= VAE - 2"][0] == "-242.00"  # the finished run's

    # MI estimated differently across the compared runs (one critic beside three): undecided.
    # (The diverged run, without an estimate, does not count.)
    rows[0]["metric_settings"]["mutual_information"] = {"steps": 2000, "critics": 3}
    lines = convergence_targets(rows, "cand", "Candidate")
    verdicts = {line.split(" | ")[1]: line.split(" | ")[2:] for line in lines[2:]}
    assert verdicts["MI >= VAE + 0.3"][-1] == "undecided: the runs' MI critics differ |"
    assert verdicts["LL >= VAE - 2"][-1] == "NO |"  # the other targets are still judged
    for r in rows[1:3]:  # all measured runs alike again: judged, the diverged run aside
        r["metric_settings"]["mutual_information"] = {"steps": 2000, "critics": 3}
    lines = convergence_targets(rows, "cand", "Candidate")
    verdicts = {line.split(" | ")[1]: line.split(" | ")[2:] for line in lines[2:]}
    assert verdicts["MI >= VAE + 0.3"][-1] == "yes |"  # 3.5 >= 3.0 + 0.3
