"""The package's training step against the plain implementation of Algorithm 1 (issue 12).

Same weights, batch and noise: the package's InfoMax-VAE with the plain settings (raw critic,
uniform permutation, no clip, no floor) must compute the plain script's terms and gradients.
"""

import json

import keras
import numpy as np
import pytest
import tensorflow as tf

from tf_infomax import build_model
from tf_infomax.models.infomax_vae import Noise
from trainers import plain_reference

LATENT, UNITS, CRITIC_UNITS, BATCH = 3, 16, (12, 8), 10


def _dense(layers) -> list:
    return [layer for layer in layers if isinstance(layer, keras.layers.Dense)]


def _copy_weights(model, encoder, decoder, critic) -> None:
    for ours, plain in [(model.encoder, encoder), (model.decoder, decoder)]:
        for a, b in zip(_dense(ours.layers), _dense(plain.layers), strict=True):
            b.set_weights(a.get_weights())
    ours = model.critic
    kernel_x, bias = ours.x_projection.get_weights()
    (kernel_z,) = ours.z_projection.get_weights()
    plain = _dense(critic.layers)
    plain[0].set_weights([np.concatenate([kernel_x, kernel_z], 0), bias])
    for a, b in zip(_dense(ours.head.layers), plain[1:], strict=True):
        b.set_weights(a.get_weights())


@pytest.mark.parametrize("alpha", [10.0, 0.0])
def test_package_step_computes_the_plain_gradients(alpha):
    keras.utils.set_random_seed(0)
    model = build_model(
        "infomax-vae" if alpha else "vae",
        image_shape=(4, 4, 1),
        latent_dim=LATENT,
        decoder_layers=2,
        arch_options={"units": UNITS},
        critic_units=CRITIC_UNITS,
        critic_score_bound=None,
        min_log_var=None,
        marginal_pairs="permutation",
        track_mi=True,
    )
    model.compile(jit_compile=False)
    encoder, decoder, critic = plain_reference.networks(
        LATENT, 2, units=UNITS, critic_units=CRITIC_UNITS, pixels=16
    )
    _copy_weights(model, encoder, decoder, critic)
    x = tf.constant(np.random.default_rng(1).uniform(size=(BATCH, 4, 4, 1)), tf.float32)
    epsilon = tf.random.normal([BATCH, LATENT], seed=2)
    permutation = tf.constant(np.random.default_rng(3).permutation(BATCH), tf.int32)

    terms, grads, critic_grads, _ = model._gradients(
        x, Noise(epsilon, tf.zeros_like(epsilon), permutation), 1
    )
    plain_vars = encoder.trainable_variables + decoder.trainable_variables
    with tf.GradientTape(persistent=True) as tape:
        rec, kl, mi, *_ = plain_reference.terms(
            encoder, decoder, critic, tf.reshape(x, [BATCH, -1]), None, epsilon, permutation
        )
        loss = rec + kl - alpha * mi
        critic_loss = -mi
    np.testing.assert_allclose(
        [terms.reconstruction, terms.kl, terms.mi, terms.loss],
        [rec, kl, mi, loss],
        rtol=1e-5,
    )
    for ours, plain in zip(grads, tape.gradient(loss, plain_vars), strict=True):
        np.testing.assert_allclose(ours, plain, rtol=1e-4, atol=1e-6)
    plain_critic = tape.gradient(critic_loss, critic.trainable_variables)
    # Ours splits the first layer into W_x (with the bias) and W_z; the plain one stacks them.
    kernel_x, bias, kernel_z, *head = critic_grads
    np.testing.assert_allclose(
        np.concatenate([kernel_x, kernel_z], 0), plain_critic[0], rtol=1e-4, atol=1e-6
    )
    np.testing.assert_allclose(bias, plain_critic[1], rtol=1e-4, atol=1e-6)
    for ours, plain in zip(head, plain_critic[2:], strict=True):
        np.testing.assert_allclose(ours, plain, rtol=1e-4, atol=1e-6)


def test_the_script_logs_every_epoch_and_keeps_one_row_per_run(tmp_path, monkeypatch):
    rng = np.random.default_rng(0)

    def fake_split(source_dir, split):
        n = 300 if split == "train" else 2000
        return rng.integers(0, 256, (n, 28, 28, 1), dtype=np.uint8), np.zeros(n, np.int64)

    monkeypatch.setattr(plain_reference, "read_split", fake_split)
    out = str(tmp_path / "plain.json")
    tiny = ["--epochs", "2", "--steps-per-epoch", "2", "--out", out]
    first = plain_reference.main([*tiny, "--seed", "0"])
    assert [e["epoch"] for e in first["epochs"]] == [1, 2]
    for epoch in first["epochs"]:
        assert np.isfinite(epoch["test_neg_elbo"]) and epoch["nonfinite_steps"] == 0
    plain_reference.main([*tiny, "--seed", "1", "--alpha", "0"])
    plain_reference.main([*tiny, "--seed", "0"])  # the same run again replaces its row
    runs = json.loads((tmp_path / "plain.json").read_text())
    assert [r["run"] for r in runs] == ["alpha0_d4_seed1", "alpha10_d4_seed0"]
    lines = plain_reference.report(runs, "plain.json")
    assert sum(line.startswith("| alpha") for line in lines) == 2  # one summary line per run
    assert "## alpha10_d4_seed0" in lines
