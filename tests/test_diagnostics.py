"""Training diagnostics: the logged values are what they claim to measure."""

from __future__ import annotations

import keras
import numpy as np
import pytest
import tensorflow as tf

from tf_infomax import distributions
from tf_infomax.models import InfoMaxVAE, diagnostics
from tf_infomax.networks import MLPCritic, fc_decoder, fc_encoder
from tf_infomax.optimizers import FusedAdam

from conftest import IMAGE_SHAPE, LATENT


def _model(alpha=10.0, **kw):
    keras.utils.set_random_seed(0)
    return InfoMaxVAE(
        fc_encoder(IMAGE_SHAPE, LATENT, units=7, depth=2),
        fc_decoder(IMAGE_SHAPE, LATENT, units=7, depth=2),
        MLPCritic((9, 4)) if alpha > 0 else None,
        alpha=alpha,
        diagnostics=True,
        **kw,
    )


def test_diagnostics_are_logged_finite_and_in_range(images):
    model = _model()
    model.compile()
    history = model.fit(images, batch_size=10, epochs=2, verbose=0).history
    expected = set(diagnostics.MEANS) - {"mi_grad_norm", "mi_clip_rate"} | set(diagnostics.EXTREMES)
    assert expected <= set(history)
    for name in expected:
        assert np.all(np.isfinite(history[name])), name
    for name in ("vae_clip_rate", "critic_clip_rate", "log_var_floored"):
        assert all(0.0 <= v <= 1.0 for v in history[name]), name
    assert min(history["grad_mi"]) > 0 and min(history["grad_reconstruction"]) > 0
    assert history["joint_score_max"][0] >= history["joint_score_mean"][0]
    assert history["marginal_score_max"][0] >= history["marginal_score_mean"][0]


def test_vae_without_critic_logs_only_its_diagnostics(images):
    model = _model(alpha=0.0)
    model.compile()
    history = model.fit(images, batch_size=10, epochs=1, verbose=0).history
    assert "grad_kl" in history and "log_var_min" in history
    assert "grad_mi" not in history and "critic_clip_rate" not in history


def test_one_step_values_match_a_direct_computation(images):
    """One batch, one step: log_var_min and grad_kl are those of the weights before the step."""
    model = _model(min_log_var=-0.05)
    model.compile()
    x = images[:10]
    output = model.encoder(x)
    raw_log_var = tf.split(output, 2, axis=-1)[1]
    with tf.GradientTape() as tape:
        tape.watch(output)
        mean, log_var = tf.split(output, 2, axis=-1)
        log_var = tf.maximum(log_var, -0.05)
        kl = tf.reduce_mean(distributions.posterior(mean, log_var).kl_divergence(model.prior))
    expected_grad_kl = float(tf.norm(tape.gradient(kl, output)))
    history = model.fit(x, batch_size=10, epochs=1, verbose=0).history
    assert history["log_var_min"][0] == pytest.approx(float(tf.reduce_min(raw_log_var)), rel=1e-5)
    assert history["log_var_max"][0] == pytest.approx(float(tf.reduce_max(raw_log_var)), rel=1e-5)
    raw_mean = tf.split(output, 2, axis=-1)[0]
    assert history["mean_abs_max"][0] == pytest.approx(float(tf.reduce_max(tf.abs(raw_mean))))
    floored = float(tf.reduce_mean(tf.cast(raw_log_var < -0.05, tf.float32)))
    assert history["log_var_floored"][0] == pytest.approx(floored)
    assert history["grad_kl"][0] == pytest.approx(expected_grad_kl, rel=1e-4)


@pytest.mark.parametrize(("clipnorm", "rate"), [(1e-9, 1.0), (None, 0.0)])
def test_clip_rate_counts_the_steps_the_optimizer_clipped(images, clipnorm, rate):
    model = _model()
    model.compile(
        optimizer=FusedAdam(1e-3, global_clipnorm=clipnorm),
        critic_optimizer=FusedAdam(1e-4, global_clipnorm=clipnorm),
    )
    history = model.fit(images, batch_size=10, epochs=1, verbose=0).history
    assert history["vae_clip_rate"] == [rate] and history["critic_clip_rate"] == [rate]


def test_diagnostics_survive_save_and_load(images, tmp_path):
    model = _model()
    model.compile()
    model.fit(images, batch_size=10, epochs=1, verbose=0)
    model.save(tmp_path / "m.keras")
    loaded = keras.models.load_model(tmp_path / "m.keras")
    assert loaded.diagnostics
    history = loaded.fit(images, batch_size=10, epochs=1, verbose=0).history
    assert "marginal_score_max" in history


def test_mi_clipnorm_clips_only_the_mi_terms_gradient(images):
    """With mi_clipnorm, the ELBO's gradient is untouched and the MI term's is bounded."""
    import tensorflow as tf

    x = tf.constant(images[:10])
    model = _model()
    model.compile(optimizer=FusedAdam(1e-3, global_clipnorm=None), mi_clipnorm=1e-6)
    noise = model.draw_noise(10, (0, 1))
    _, grads, _, values = model._gradients(x, noise, 1)
    with tf.GradientTape() as tape:
        terms = model.compute_terms(x, training=True, noise=noise)
        elbo = terms.reconstruction + model.beta * terms.kl
    expected = tape.gradient(elbo, model._vae_variables)
    # The MI part now adds at most 1e-6 in norm to the ELBO's gradient.
    difference = [g - e for g, e in zip(grads, expected, strict=True)]
    assert float(tf.linalg.global_norm(difference)) <= 1e-6 * 1.01
    assert float(values["mi_grad_norm"]) > 1e-3 and float(values["mi_clip_rate"]) == 1.0
    decoder_ids = {id(v) for v in model.decoder.trainable_variables}
    for g, e, v in zip(grads, expected, model._vae_variables, strict=True):
        if id(v) in decoder_ids:  # the MI term never reaches the decoder
            assert np.allclose(g.numpy(), e.numpy(), atol=1e-6)


def test_mi_clip_that_never_fires_leaves_both_gradients_exact(images):
    """The clipped step's one shared backward pass (critic and MI term) gives the gradients
    of the unclipped step: the VAE's of the whole loss, the critic's of its objective."""
    import tensorflow as tf

    x = tf.constant(images[:10])
    model = _model()
    model.compile(optimizer=FusedAdam(1e-3, global_clipnorm=None), mi_clipnorm=1e12)
    noise = model.draw_noise(10, (0, 1))
    _, grads, critic_grads, _ = model._gradients(x, noise, 1)
    with tf.GradientTape(persistent=True) as tape:
        terms = model.compute_terms(x, training=True, noise=noise)
        critic_loss = -terms.critic_objective
    expected = tape.gradient(terms.loss, model._vae_variables)
    expected_critic = tape.gradient(critic_loss, model.critic.trainable_variables)
    pairs = zip(grads + critic_grads, expected + expected_critic, strict=True)
    for got, want in pairs:  # None: a variable the loss does not reach (zeros in the step)
        want = np.zeros(got.shape) if want is None else want.numpy()
        assert np.allclose(got.numpy(), want, rtol=1e-4, atol=1e-6)
