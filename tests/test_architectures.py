"""Every new architecture trains with every method, under MirroredStrategy, and in the
experiment definitions' smoke variants (mock CIFAR/CelebA, real binarized Fashion-MNIST)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap

import keras
import numpy as np
import pytest

from tf_infomax.models import METHODS, InfoMaxVAE, method_weights
from tf_infomax.networks import MLPCritic, build_networks

# Full depth, tiny widths: (image shape, build_networks options).
TINY = {
    "cifar": ((32, 32, 3), {"encoder_filters": (2, 3, 4, 5), "decoder_filters": (5, 4, 3, 3, 2)}),
    "celeba": ((64, 64, 3), {"encoder_filters": (2, 3, 4, 5), "decoder_filters": (3,) * 6}),
    "pixelvae": ((10, 9, 1), {"decoder_layers": 4, "encoder_filters": (3, 4, 5), "filters": 4}),
}
LATENT = 3


def tiny_model(arch: str, method: str) -> InfoMaxVAE:
    keras.utils.set_random_seed(0)
    shape, options = TINY[arch]
    encoder, decoder = build_networks(arch, shape, LATENT, **options)
    weights = method_weights(method)
    critic = MLPCritic((6,)) if weights.alpha > 0 else None
    return InfoMaxVAE(encoder, decoder, critic, **weights.as_dict())


def binary_images(shape, n=4):
    return (np.random.default_rng(0).random((n, *shape)) < 0.4).astype("float32")


@pytest.mark.parametrize("method", METHODS)
@pytest.mark.parametrize("arch", sorted(TINY))
def test_every_architecture_trains_with_every_method(arch, method):
    model = tiny_model(arch, method)
    model.compile(run_eagerly=True)  # 3x cheaper here; graph mode: tests below
    x = binary_images(TINY[arch][0])
    before = [w.numpy().copy() for w in model.encoder.weights]
    history = model.fit(x, batch_size=4, epochs=1, verbose=0).history
    assert all(np.isfinite(v[-1]) for v in history.values())
    moved = [
        not np.allclose(a, w.numpy()) for a, w in zip(before, model.encoder.weights, strict=True)
    ]
    assert any(moved)
    assert model(x[:2]).shape == (2, *TINY[arch][0])


MIRRORED = textwrap.dedent(
    """
    import json, os, sys
    import tensorflow as tf
    cpu = tf.config.list_physical_devices("CPU")[0]
    tf.config.set_logical_device_configuration(cpu, [tf.config.LogicalDeviceConfiguration()] * 2)
    sys.path.insert(0, sys.argv[1])
    import numpy as np
    from test_architectures import binary_images, tiny_model, TINY
    strategy = tf.distribute.MirroredStrategy(["/cpu:0", "/cpu:1"])
    out = {}
    for arch in ("pixelvae",):  # cifar/celeba: functional models, as conv in test_distributed
        with strategy.scope():
            model = tiny_model(arch, "infomax-vae")
            model.compile()
        before = [w.numpy().copy() for w in model.weights]
        x = binary_images(TINY[arch][0])
        ds = tf.data.Dataset.from_tensor_slices(x).batch(4, drop_remainder=True)  # 2 / replica
        logs = model.fit(ds, epochs=1, verbose=0).history
        moved = sum(not np.allclose(a, w.numpy()) for a, w in zip(before, model.weights))
        out[arch] = {"replicas": strategy.num_replicas_in_sync, "moved": moved,
                     "weights": len(before), "logs": {k: v[-1] for k, v in logs.items()}}
    print(json.dumps(out))
    """
)


@pytest.mark.slow
def test_architectures_train_under_mirrored_strategy():
    env = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "2"}
    tests_dir = os.path.dirname(__file__)
    result = subprocess.run(
        [sys.executable, "-c", MIRRORED, tests_dir],
        capture_output=True,
        text=True,
        env=env,
        timeout=300,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    out = json.loads(result.stdout.strip().splitlines()[-1])
    for arch, entry in out.items():
        assert entry["replicas"] == 2, arch
        assert set(entry["logs"]) == {
            "loss",
            "reconstruction",
            "kl",
            "neg_elbo",
            "mi",
            "critic_loss",
        }
        assert all(np.isfinite(v) for v in entry["logs"].values()), arch
        assert entry["moved"] >= entry["weights"] // 2, arch  # optimizer slots do not count


@pytest.fixture
def mock_tfds(monkeypatch):
    """TFDS mock data for CIFAR/CelebA, which cannot be downloaded here."""
    import tensorflow_datasets as tfds

    from tf_infomax.data import sources

    monkeypatch.setattr(sources, "_probe_builder", lambda builder: None)
    with tfds.testing.mock_data(num_examples=8):
        yield


def test_celeba_hook_writes_figures_5_and_9(mock_tfds, tmp_path):
    from tf_infomax.runs import RunDir
    from tf_infomax.training import train
    from trainers.study import experiment_configs, experiment_module

    assert {c.model.arch for c in experiment_configs("celeba", smoke=False).values()} == {"celeba"}
    assert {c.model.arch for c in experiment_configs("table4_cifar").values()} == {"cifar"}
    name, config = next(iter(experiment_configs("celeba", smoke=True).items()))
    config.data.data_dir = str(tmp_path / "tfds")
    train(config, tmp_path / name, verbose=0)
    celeba = experiment_module("celeba")
    extra = celeba.after_evaluation(RunDir(tmp_path / name))
    for figure in celeba.figures_for(name):
        assert (tmp_path / name / "figures" / f"{figure}.png").stat().st_size > 0
    assert set(extra["paper_figures"]) == {"samples", "traversal"}


def test_pixelvae_experiment_smoke_on_binarized_fashion_mnist(tmp_path):
    from tf_infomax import build_model
    from trainers.cli import main
    from trainers.experiments import pixelvae

    assert {c.data.dataset for c in pixelvae.get_config().values()} == {"mnist"}
    configs = pixelvae.get_config(smoke=True)
    for config in configs.values():  # what `tf-infomax train` builds from these configs
        model = build_model(config.model, arch="pixelvae", latent_dim=2, decoder_layers=3)
        assert model.decoder_conditions_on_x and model.decoder.num_layers == 3
    # The study pipeline (trainers/study.py) with the experiment's hooks.
    results = tmp_path / "pixelvae.json"
    args = ["reproduce", "pixelvae", "--root", str(tmp_path / "runs"), "--smoke"]
    assert main([*args, "--results", str(results), "--only", "pixel_infomax-vae_z2"]) == 0
    (row,) = json.loads(results.read_text())
    # Trained by training.train: a run directory like `tf-infomax train` writes, with the
    # architecture options in its config.json and in the model it saved.
    run_dir = tmp_path / "runs" / row["run"]
    assert json.loads((run_dir / "config.json").read_text())["arch_options"] == {"filters": 4}
    assert (
        row["decoder_params"]
        < build_model(
            "infomax-vae", arch="pixelvae", latent_dim=2, decoder_layers=3
        ).decoder.count_params()
    )
    assert "log_likelihood" not in row["metric_settings"]  # the experiment's evaluation hook
    assert 0.0 <= row["linear_probe_test_accuracy"] <= 1.0
    assert row["linear_probe_test_accuracy"] == row["probe_accuracy"]["linear"]
    assert np.isfinite(row["train_history"]["loss"][-1])
    assert set(row["test_terms"]) >= {"reconstruction", "kl", "mi"}
    assert len(row["figure_files"]) == 2
    for path in row["figure_files"]:
        assert os.path.getsize(results.parent / path) < 300_000
    markdown = tmp_path / "pixelvae.md"
    assert main(["report", "--results", str(results), "--out", str(markdown)]) == 0
    assert "| infomax-vae | " in markdown.read_text()
