"""evaluate_model: every metric and figure on a tiny model; the same numbers after reloading."""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path

import keras
import numpy as np
import pytest
import tensorflow as tf

from tf_infomax.metrics import METRICS, EvaluationConfig, evaluate_model
from tf_infomax.metrics.evaluate import fixed_binarization

from conftest import tiny_images, tiny_model

SETTINGS = {"split", "num_examples", "seed", "time_s"}


def labelled(n: int, seed: int, batch: int = 50) -> tf.data.Dataset:
    images = tiny_images(n, seed)
    labels = (images.mean(axis=(1, 2, 3)) > 0.5).astype(np.int64)
    return tf.data.Dataset.from_tensor_slices((images, labels)).batch(batch)


@pytest.fixture(scope="module")
def trained():
    model = tiny_model("infomax-vae")
    model.compile()
    model.fit(tiny_images(200, 1), batch_size=50, epochs=2, verbose=0)
    return model


def test_all_metrics_and_figures_are_recorded_with_their_settings(trained, tmp_path):
    config = EvaluationConfig.tiny(limit=120, train_limit=150, iw_samples=8)
    results = evaluate_model(
        trained, labelled(160, 2), labelled(200, 3), config, figures_dir=tmp_path / "figures"
    )
    assert set(METRICS) <= set(results)
    for name in METRICS:
        assert set(results[name]) >= SETTINGS, name
        assert results[name]["num_examples"] == 120 and results[name]["split"] == "test"
    assert 0 <= results["active_units"]["value"] <= 3
    assert results["active_units"]["threshold"] == 0.01
    assert len(results["active_units"]["variances"]) == 3
    assert results["kl"]["value"] > 0
    aggregate = results["mutual_information_aggregate"]
    assert 0 <= aggregate["value"] <= aggregate["log_n"] + 1e-6
    assert aggregate["log_n"] == pytest.approx(np.log(120), abs=1e-6)
    assert aggregate["kl_posterior_prior_monte_carlo"] == pytest.approx(
        aggregate["value"] + results["kl_aggregate_prior"]["value"]
    )
    assert results["mutual_information"]["bound"] == "f-kl"
    assert results["mutual_information"]["steps"] == config.mi_steps
    likelihood = results["log_likelihood"]
    assert likelihood["num_samples"] == 8 and likelihood["value"] >= likelihood["elbo"] - 0.5
    probes = results["probe_accuracy"]
    assert set(probes["value"]) == {"linear", "mlp"} and probes["num_train"] == 150
    assert all(0.0 <= v <= 1.0 for v in probes["value"].values())
    paths = results["figures"]["paths"]
    assert set(paths) == {
        "aggregate_posterior",
        "latent_codes",
        "samples",
        "reconstructions",
        "traversals",
        "tsne",
    }
    for path in map(Path, paths.values()):
        assert path.parent == tmp_path / "figures" and path.suffix == ".png"
        assert 1_000 < path.stat().st_size < 300_000  # small PNGs
    assert results["evaluation"]["config"]["iw_samples"] == 8
    json.dumps(results)  # every value is JSON-serialisable


def test_reloaded_model_gives_the_same_metrics(trained, tmp_path):
    config = EvaluationConfig.tiny(
        limit=100, iw_samples=4, metrics=tuple(m for m in METRICS if m != "probe_accuracy")
    )
    live = evaluate_model(trained, labelled(100, 4), labelled(200, 5), config)
    trained.save(tmp_path / "model.keras")
    reloaded = keras.models.load_model(tmp_path / "model.keras")
    again = evaluate_model(reloaded, labelled(100, 4), labelled(200, 5), config)
    for name in config.metrics:
        assert again[name]["value"] == pytest.approx(live[name]["value"], rel=1e-4, abs=1e-5), name


def test_unknown_metric_and_missing_train_data_are_rejected(trained):
    with pytest.raises(ValueError, match="Unknown metrics"):
        EvaluationConfig(metrics=("fid",))
    with pytest.raises(ValueError, match="need train_data"):
        evaluate_model(trained, labelled(20, 6), None, EvaluationConfig.tiny())
    only_au = EvaluationConfig.tiny(metrics=("active_units",))
    assert "active_units" in evaluate_model(trained, labelled(20, 6), None, only_au)


def test_fixed_binarization_is_the_same_on_every_pass():
    data = labelled(30, 7, batch=8)
    binary = fixed_binarization(data, seed=1)
    first, second = ([x.numpy() for x, _ in binary] for _ in range(2))
    for a, b, (grey, _) in zip(first, second, data, strict=True):
        np.testing.assert_array_equal(a, b)
        assert set(np.unique(a)) <= {0.0, 1.0} and a.shape == grey.shape
    other_seed = np.concatenate([x.numpy() for x, _ in fixed_binarization(data, seed=2)])
    assert not np.array_equal(np.concatenate(first), other_seed)


def test_autoregressive_decoder_gets_images_for_likelihood_and_figures(tmp_path):
    from tf_infomax.models import InfoMaxVAE
    from tf_infomax.networks import build_networks

    keras.utils.set_random_seed(0)
    encoder, decoder = build_networks(
        "pixelvae", (6, 5, 1), 3, decoder_layers=2, encoder_filters=(3,), filters=4
    )
    model = InfoMaxVAE(encoder, decoder)
    binary = fixed_binarization(labelled(40, 8, batch=20), seed=0)
    config = EvaluationConfig.tiny(iw_samples=3, metrics=("active_units", "log_likelihood"))
    results = evaluate_model(model, binary, None, config, figures_dir=tmp_path)
    assert np.isfinite(results["log_likelihood"]["value"])
    assert results["log_likelihood"]["value"] >= results["log_likelihood"]["elbo"]
    assert (tmp_path / "traversals.png").exists() and (tmp_path / "samples.png").exists()


def test_the_mi_critic_and_the_probes_read_their_own_number_of_training_images(trained):
    from tf_infomax.metrics.evaluate import _train_limit
    from tf_infomax.metrics.mutual_information import _critic_batches

    config = EvaluationConfig.tiny(
        train_limit=60, mi_train_limit=0, metrics=("mutual_information", "probe_accuracy")
    )
    assert config.mi_train_limit is None  # 0: all, as on the command line
    results = evaluate_model(trained, labelled(100, 2), labelled(200, 3), config)
    assert results["probe_accuracy"]["num_train"] == 60
    assert results["mutual_information"]["train_limit"] is None
    assert sum(1 for _ in _critic_batches(labelled(200, 3), config)) == 200 // config.mi_batch_size
    # evaluate_run reads as many training images as the hungriest metric of the evaluation.
    assert _train_limit(config) is None
    assert _train_limit(dataclasses.replace(config, mi_train_limit=30)) == 60
    assert _train_limit(dataclasses.replace(config, mi_train_limit=100)) == 100
    only_mi = dataclasses.replace(config, mi_train_limit=30, metrics=("mutual_information",))
    assert _train_limit(only_mi) == 30


def test_post_hoc_mi_reports_the_median_of_several_critics(trained):
    """mi_critics critics with their own seeds; the value is the median one's, the first critic
    is the single-critic evaluation's, and a count below 1 is refused."""
    config = EvaluationConfig.tiny(metrics=("mutual_information",), mi_critics=3, seed=4)
    entry = evaluate_model(trained, labelled(100, 2), labelled(200, 3), config)[
        "mutual_information"
    ]
    values = entry["critic_values"]
    assert entry["critics"] == 3 and entry["critic_seeds"] == [4, 6, 8]
    assert len(set(values)) == 3  # different critics, not one critic three times
    assert entry["value"] == sorted(values)[1]
    assert entry["median_critic_seed"] == entry["critic_seeds"][values.index(entry["value"])]
    # The median critic's held-out terms make up the reported value.
    assert entry["held_out_joint_term"] - entry["held_out_marginal_term"] == pytest.approx(
        entry["value"], abs=1e-4
    )
    single = dataclasses.replace(config, mi_critics=1)
    alone = evaluate_model(trained, labelled(100, 2), labelled(200, 3), single)
    assert alone["mutual_information"]["value"] == pytest.approx(values[0], abs=1e-5)
    with pytest.raises(ValueError, match="mi_critics must be >= 1"):
        EvaluationConfig.tiny(mi_critics=0)
