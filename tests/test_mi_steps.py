"""trainers.mi_steps: the post-hoc MI at several critic step counts, and the model's own critic."""

from __future__ import annotations

import json
import math

import pytest

from tf_infomax.config import TrainConfig
from tf_infomax.training import train
from trainers.mi_steps import main


@pytest.fixture(scope="module")
def runs(tmp_path_factory):
    """A tiny VAE and InfoMax-VAE run on 300 digits."""
    root = tmp_path_factory.mktemp("runs")
    tiny = dict(
        dataset="sklearn_digits", latent_dim=3, limit=300, batch_size=50, epochs=1,
        validation_limit=0, arch_options={"units": 16}, critic_units=(8,),
    )  # fmt: skip
    for method in ("vae", "infomax-vae"):
        train(TrainConfig.from_flat(model=method, **tiny), root / method, verbose=0)
    return root


def test_rows_per_run_and_step_count_with_the_own_critic_for_infomax_vae(runs, tmp_path):
    out = tmp_path / "mi_steps.json"
    runs = [str(runs / m) for m in ("vae", "infomax-vae")]
    assert main([*runs, "--steps", "3", "6", "--seeds", "0", "1", "--out", str(out)]) == 0
    rows = json.loads(out.read_text())
    assert [(r["run"], r["steps"], r["eval_seed"]) for r in rows] == [
        (run, steps, seed) for run in ("vae", "infomax-vae") for steps in (3, 6) for seed in (0, 1)
    ]
    assert all(math.isfinite(r["mutual_information"]) for r in rows)
    assert rows[0]["own_critic_test_bound"] is None  # VAE has no critic
    mine = rows[4:]
    assert math.isfinite(mine[0]["own_critic_test_bound"])
    assert len({r["own_critic_test_bound"] for r in mine}) == 1  # the model's critic, once
    assert len({r["mutual_information"] for r in mine}) == 4  # steps and seeds move the estimate
    for row in rows:  # the held-out terms the row records make up its value (f-kl)
        rebuilt = row["held_out_joint_term"] - row["held_out_marginal_term"]
        assert rebuilt == pytest.approx(row["mutual_information"], abs=1e-4)
        assert row["held_out_marginal_term"] == pytest.approx(
            math.exp(row["held_out_log_mean_exp_marginal"]), rel=1e-5
        )


def test_the_critic_trains_on_the_training_images_asked_for(runs, tmp_path):
    out = tmp_path / "rows.json"
    args = [str(runs / "vae"), "--steps", "3", "--train-limits", "100", "0", "--out", str(out)]
    assert main(args) == 0
    rows = json.loads(out.read_text())
    assert [r["train_limit"] for r in rows] == [100, None]  # None: the whole training split
    assert rows[0]["mutual_information"] != rows[1]["mutual_information"]
    with pytest.raises(SystemExit):
        main([str(runs / "vae"), "--train-limits", "-1", "--out", str(out)])
