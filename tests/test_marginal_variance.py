"""trainers.marginal_variance: the spread of eq. 6's marginal term for K partners per example."""

from __future__ import annotations

import json
import math

import pytest

from tf_infomax.config import TrainConfig
from tf_infomax.training import train
from trainers.marginal_variance import QUANTITIES, main


def test_one_row_per_run_with_summaries_per_k(tmp_path):
    tiny = dict(
        dataset="sklearn_digits", latent_dim=3, limit=300, batch_size=50, epochs=1,
        validation_limit=0, arch_options={"units": 16}, critic_units=(8,),
    )  # fmt: skip
    run = tmp_path / "run"
    train(TrainConfig.from_flat(model="infomax-vae", **tiny), run, verbose=0)
    out = tmp_path / "variance.json"
    assert main([str(run), "--samples", "1", "4", "--batches", "3", "--out", str(out)]) == 0
    (row,) = json.loads(out.read_text())
    assert (row["run"], row["weights"], row["batches"], row["alpha"]) == (
        "run",
        "model.keras",
        3,
        10,
    )
    assert set(row["samples"]) == {"1", "4"}
    for summary in row["samples"].values():
        assert set(summary) == set(QUANTITIES)
        for stats in summary.values():
            assert all(math.isfinite(v) for v in stats.values())
            assert stats["max"] >= stats["p99"] >= 0 and stats["sd"] >= 0


def test_a_folder_that_is_not_a_run_is_refused(tmp_path, capsys):
    with pytest.raises(SystemExit):
        main([str(tmp_path), "--out", str(tmp_path / "x.json")])
    assert "not run directories" in capsys.readouterr().err
    assert not (tmp_path / "x.json").exists()
