"""trainers.weight_average_units: encoder statistics of the raw weights and of their average."""

from __future__ import annotations

import json

import numpy as np
import pytest

from tf_infomax.config import TrainConfig
from tf_infomax.metrics.evaluate import evaluation_data
from tf_infomax.runs import RunDir
from tf_infomax.training import train
from trainers.weight_average_units import RawAndAverage, encoder_statistics


def test_the_average_row_is_the_saved_model_and_training_keeps_stepping_the_raw_weights(tmp_path):
    config = TrainConfig.from_flat(
        model="infomax-vae", dataset="sklearn_digits", latent_dim=3, limit=200, batch_size=50,
        epochs=1, validation_limit=0, arch_options={"units": 16}, critic_units=(8,), seed=0,
    )  # fmt: skip
    images = np.concatenate(
        [b[0].numpy() for b in evaluation_data(config, "test", batch_size=100, limit=None)]
    )
    out = tmp_path / "rows.json"
    model, _ = train(config, tmp_path / "run", callbacks=[RawAndAverage("r", images, out, 50)])
    rows = json.loads(out.read_text())
    assert [(r["epoch"], r["weights"]) for r in rows] == [(1, "raw"), (1, "average")]
    saved = encoder_statistics(RunDir(tmp_path / "run").model(), images, 50)
    # fit ends with the moving average (Keras use_ema): the last "average" row is the saved model.
    assert rows[1]["variances"] == pytest.approx(saved["variances"], rel=1e-4, abs=1e-6)
    assert rows[1]["ablation_cost"] == pytest.approx(saved["ablation_cost"], rel=1e-3, abs=1e-4)
    assert rows[0]["variances"] != pytest.approx(saved["variances"], rel=1e-3)
    # Measuring the average puts the weights the optimizer steps back in place.
    variables = model.optimizer._trainable_variables
    for v in variables:
        v.assign(v + 0.5)
    before = [v.numpy() for v in variables]
    callback = RawAndAverage("r", images, tmp_path / "again.json", 50)
    callback.set_model(model)
    callback.on_epoch_end(1)
    assert all(np.array_equal(v.numpy(), b) for v, b in zip(variables, before, strict=True))
    for row in rows:
        variances = np.array(row["variances"])
        assert row["active_units"] == int(np.sum(variances >= 0.01))
        assert len(row["gaussian_bound"]) == len(row["kl"]) == len(row["ablation_cost"]) == 3
        assert min(row["gaussian_bound"]) >= 0  # an upper bound on I(x; z_d) >= 0
