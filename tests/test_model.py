"""InfoMaxVAE: the four methods train with fit, log honestly, save and load, reject bad input."""

from __future__ import annotations

import keras
import numpy as np
import pytest
import tensorflow as tf

from tf_infomax import build_model
from tf_infomax.models import METHODS, InfoMaxVAE, method_weights

from conftest import IMAGE_SHAPE, LATENT, tiny_images, tiny_model

EXPECTED_LOGS = {
    "vae": {"loss", "reconstruction", "kl", "neg_elbo"},
    "beta-vae": {"loss", "reconstruction", "kl", "neg_elbo"},
    "infovae": {"loss", "reconstruction", "kl", "neg_elbo", "mmd"},
    "infomax-vae": {"loss", "reconstruction", "kl", "neg_elbo", "mi", "critic_loss"},
}


@pytest.mark.parametrize("method", METHODS)
def test_each_method_fits_with_honest_logs(method, images):
    model = tiny_model(method)
    model.compile()
    history = model.fit(images, batch_size=10, epochs=2, verbose=0).history
    assert set(history) == EXPECTED_LOGS[method]
    for name, values in history.items():
        assert len(values) == 2 and np.all(np.isfinite(values)), name
        assert values[-1] != 0.0, name
    # The logged loss is the weighted sum of the logged terms (eq. 3 and 6).
    terms = model.compute_terms(images[:10])
    weights = method_weights(method)
    expected = (
        terms.reconstruction
        + weights.beta * terms.kl
        + weights.mmd_weight * terms.mmd
        - weights.alpha * terms.critic_objective
    )
    assert float(terms.loss) == pytest.approx(float(expected), rel=1e-5)


def test_methods_differ_only_in_regularizer_weights():
    assert method_weights("vae").as_dict() == {"beta": 1.0, "alpha": 0.0, "mmd_weight": 0.0}
    assert method_weights("beta-vae", beta=0.5).beta == 0.5
    assert method_weights("infovae", infovae_alpha=0.5, infovae_lambda=10).as_dict() == {
        "beta": 0.5,
        "alpha": 0.0,
        "mmd_weight": 9.5,
    }
    assert method_weights("infomax-vae").as_dict() == {"beta": 1.0, "alpha": 10.0, "mmd_weight": 0}
    models = [tiny_model(m) for m in METHODS]
    assert {type(m) for m in models} == {InfoMaxVAE}


def test_both_optimizers_update_their_own_variables(images):
    model = tiny_model("infomax-vae")
    model.compile()
    critic_before = [v.numpy().copy() for v in model.critic.trainable_variables]
    encoder_before = [v.numpy().copy() for v in model.encoder.trainable_variables]
    model.fit(images, batch_size=10, epochs=1, verbose=0)
    assert int(model.optimizer.iterations) == 4
    assert int(model.critic_optimizer.iterations) == 4
    assert len(model.optimizer.variables) < len(model.critic_optimizer.variables) + len(
        model.optimizer.variables
    )
    critic_vars = {id(v) for v in model.critic.trainable_variables}
    assert not critic_vars & {id(v) for v in model._vae_variables}
    for before, var in zip(critic_before, model.critic.trainable_variables, strict=True):
        assert not np.allclose(before, var.numpy())
    for before, var in zip(encoder_before, model.encoder.trainable_variables, strict=True):
        assert not np.allclose(before, var.numpy())


def test_mi_term_reaches_the_encoder(images):
    """With alpha > 0 the encoder gradient differs from the VAE's (Algorithm 1, line 6)."""
    grads = {}
    for alpha in (0.0, 10.0):
        if alpha:
            model = tiny_model("infomax-vae", alpha=alpha)
        else:
            model = tiny_model("vae", track_mi=True)
        with tf.GradientTape() as tape:
            loss = model.compute_terms(images[:10], training=True).loss
        grads[alpha] = tape.gradient(loss, model.encoder.trainable_variables)[0].numpy()
    assert not np.allclose(grads[0.0], grads[10.0])


def test_vae_with_tracked_mi_trains_critic_without_changing_objective(images):
    plain, tracked = tiny_model("vae"), tiny_model("vae", track_mi=True)
    a, b = plain.compute_terms(images[:10]), tracked.compute_terms(images[:10])
    assert float(a.loss) == pytest.approx(float(b.loss), rel=1e-6)
    tracked.compile()
    history = tracked.fit(images, batch_size=10, epochs=1, verbose=0).history
    assert "mi" in history and "critic_loss" in history


@pytest.mark.parametrize("estimator", ["dv", "js", "infonce"])
def test_other_estimators_train(estimator, images):
    model = tiny_model("infomax-vae", estimator=estimator)
    model.compile()
    history = model.fit(images, batch_size=10, epochs=1, verbose=0).history
    assert np.isfinite(history["mi"][-1])


def test_validation_data_is_logged(images):
    model = tiny_model("infomax-vae")
    model.compile()
    history = model.fit(images, batch_size=10, validation_data=(images[:20],), verbose=0).history
    assert {"val_loss", "val_mi", "val_kl"} <= set(history)


def test_save_and_load_round_trips_weights_and_both_optimizers(tmp_path, images):
    model = tiny_model("infomax-vae", estimator="dv")
    model.compile(critic_optimizer=keras.optimizers.Adam(3e-4))
    model.fit(images, batch_size=10, epochs=1, verbose=0)
    path = tmp_path / "model.keras"
    model.save(path)
    loaded = keras.models.load_model(path)
    assert isinstance(loaded, InfoMaxVAE)
    assert loaded.estimator.name == "dv" and loaded.alpha == model.alpha
    np.testing.assert_allclose(loaded.encode(images).mean, model.encode(images).mean, atol=1e-6)
    np.testing.assert_allclose(loaded.critic_optimizer.learning_rate.numpy(), 3e-4, rtol=1e-6)
    for mine, theirs in [
        (model.optimizer, loaded.optimizer),
        (model.critic_optimizer, loaded.critic_optimizer),
    ]:
        assert len(mine.variables) == len(theirs.variables)
        for a, b in zip(mine.variables, theirs.variables, strict=True):
            np.testing.assert_allclose(a.numpy(), b.numpy(), err_msg=a.path)
    # Training continues from the restored state: the same next step on both.
    model.fit(images[:10], batch_size=10, verbose=0)
    loaded.fit(images[:10], batch_size=10, verbose=0)
    np.testing.assert_allclose(loaded.encode(images).mean, model.encode(images).mean, atol=1e-5)


def test_build_model_paper_networks():
    model = build_model("infomax-vae", image_shape=(28, 28, 1), latent_dim=20)
    # Table 5 FC encoder: 784 -> 4 x 1000 -> 40; critic 784+20 -> 1000 -> 400 -> 100 -> 1.
    assert model.encoder.count_params() == 785_000 + 3 * 1_001_000 + 40_040
    assert model.critic.count_params() == (784 + 20) * 1000 + 1000 + 400_400 + 40_100 + 101
    conv = build_model("vae", image_shape=(28, 28, 1), latent_dim=20, arch="conv")
    assert conv(tf.zeros([2, 28, 28, 1])).shape == (2, 28, 28, 1)
    deep = build_model("vae", latent_dim=20, decoder_layers=10)
    assert len([la for la in deep.decoder.layers if "dense" in la.name]) == 10


# ------------------------------------------------------------------ bad input
def test_batch_too_small_to_permute():
    model = tiny_model("infomax-vae")
    model.compile()
    with pytest.raises(ValueError, match="too small to permute"):
        model.fit(tiny_images(21), batch_size=10, verbose=0)
    data = tf.data.Dataset.from_tensor_slices(tiny_images(4)).batch(1)
    with pytest.raises(ValueError, match="Batch size 1 is too small"):
        model.fit(data, verbose=0)


def test_nan_images_rejected_before_training():
    model = tiny_model("vae")
    model.compile()
    bad = tiny_images(20)
    bad[3, 0, 0, 0] = np.nan
    with pytest.raises(ValueError, match="1 NaN or inf"):
        model.fit(bad, batch_size=10, verbose=0)
    bad_ds = tf.data.Dataset.from_tensor_slices(bad).batch(10)
    with pytest.raises(ValueError, match="NaN or inf"):
        model.fit(bad_ds, verbose=0)
    assert int(model.optimizer.iterations) == 0


def test_nan_in_a_later_batch_stops_with_a_plain_error():
    model = tiny_model("vae")
    model.compile()
    bad = tiny_images(30)
    bad[25] = np.inf
    ds = tf.data.Dataset.from_tensor_slices(bad).batch(10)
    message = "Input images contain NaN or inf; clean the data (images in [0, 1])."
    for run in (model.fit, model.evaluate):
        with pytest.raises(ValueError) as caught:
            run(ds, verbose=0)
        assert str(caught.value) == message  # not buried in a graph-execution trace
        assert caught.value.__cause__ is None


def test_last_batch_of_one_in_a_dataset_is_a_plain_error():
    model = tiny_model("infomax-vae")
    model.compile()
    ds = tf.data.Dataset.from_tensor_slices(tiny_images(21)).batch(10)  # 10, 10, 1
    with pytest.raises(ValueError, match="^Batch of 1 example: too small to permute z") as caught:
        model.fit(ds, verbose=0)
    assert "drop_remainder=True" in str(caught.value)
    assert not isinstance(caught.value, tf.errors.OpError)


def test_uint8_images_train_like_float_images_divided_by_255():
    raw = np.round(tiny_images(20) * 255).astype(np.uint8)
    losses = []
    dataset = tf.data.Dataset.from_tensor_slices(raw).batch(10)
    for x, batch_size in ((raw, 10), (raw.astype(np.float32) / 255, 10), (dataset, None)):
        model = tiny_model("infomax-vae", seed=2)
        model.compile()
        fit = model.fit(x, batch_size=batch_size, epochs=2, shuffle=False, verbose=0)
        losses.append(
            fit.history["loss"] + [model.evaluate(x, batch_size=batch_size, verbose=0)[0]]
        )
    np.testing.assert_allclose(losses[0], losses[1], rtol=1e-6)
    np.testing.assert_allclose(losses[2], losses[1], rtol=1e-6)


def test_bernoulli_refuses_float_images_outside_the_unit_range():
    model = tiny_model("vae")
    model.compile()
    pixels = tiny_images(20) * 255  # 0-255 floats: the Bernoulli loss would become NaN
    message = r"range over \[0\.\d+, 25\d\.\d+\], but the Bernoulli likelihood needs"
    with pytest.raises(ValueError, match=message) as caught:
        model.fit(pixels, batch_size=10, verbose=0)
    assert "Divide 0-255 images by 255, or pass them as uint8" in str(caught.value)
    with pytest.raises(ValueError, match="Bernoulli likelihood needs pixel values in"):
        model.fit(tf.data.Dataset.from_tensor_slices(pixels).batch(10), verbose=0)
    assert int(model.optimizer.iterations) == 0
    gaussian = InfoMaxVAE(model.encoder, model.decoder, likelihood="gaussian")
    gaussian.compile()
    gaussian.fit(pixels / 255 * 2 - 1, batch_size=10, verbose=0)  # any real values


class _BlowUpAtEpoch(keras.callbacks.Callback):
    """Sets a huge learning rate from the given (0-based) epoch on: the loss soon diverges."""

    def __init__(self, epoch):
        super().__init__()
        self.epoch = epoch

    def on_epoch_begin(self, epoch, logs=None):
        if epoch == self.epoch:
            self.model.optimizer.learning_rate.assign(1e30)


def test_diverging_fit_raises_where_it_stopped_and_keeps_the_backup(tmp_path):
    from tf_infomax.training import TrainingDivergedError

    model = tiny_model("vae")
    model.compile()
    backup = keras.callbacks.BackupAndRestore(str(tmp_path / "backup"))
    message = r"loss became NaN/inf at epoch 2, batch \d, and training stopped there"
    with pytest.raises(TrainingDivergedError, match=message) as caught:
        model.fit(
            tiny_images(40),
            batch_size=10,
            epochs=3,
            verbose=0,
            callbacks=[backup, _BlowUpAtEpoch(1)],
        )
    assert "Lower the learning rate" in str(caught.value)
    assert any((tmp_path / "backup").iterdir())  # epoch 1's backup was not cleaned up

    # A StopOnDivergence passed in is used instead (not doubled): graceful stop, where recorded.
    from tf_infomax.models import StopOnDivergence

    model = tiny_model("vae")
    model.compile()
    stop = StopOnDivergence(raise_error=False)
    history = model.fit(
        tiny_images(40), batch_size=10, epochs=3, verbose=0, callbacks=[stop, _BlowUpAtEpoch(1)]
    ).history
    assert stop.where is not None and stop.where[0] == 2 and len(history["loss"]) == 2


def test_wrong_image_shape():
    model = tiny_model("vae")
    model.compile()
    with pytest.raises(ValueError, match=r"shape \(6, 6, 1\) but the network was built for"):
        model.fit(np.zeros((20, 6, 6, 1), np.float32), batch_size=10, verbose=0)
    with pytest.raises(ValueError, match="rank-3 input"):
        model.fit(np.zeros((20, 6, 5), np.float32), batch_size=10, verbose=0)


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"method": "vae-gan"}, "Unknown model 'vae-gan'"),
        ({"estimator": "mine"}, "Unknown MI estimator 'mine'"),
        ({"arch": "resnet"}, "Unknown architecture 'resnet'"),
        ({"alpha": -1.0}, r"alpha must be >= 0"),
        ({"method": "beta-vae", "beta": -0.5}, r"beta must be >= 0"),
        ({"method": "infovae", "infovae_alpha": 2.0}, r"beta must be >= 0"),
        ({"method": "vae", "alpha": 3.0}, "--model infomax-vae to add the mutual-information term"),
        ({"likelihood": "poisson"}, "Unknown likelihood 'poisson'"),
        ({"marginal_samples": 0}, "marginal_samples must be >= 1"),
        ({"marginal_samples": 2.5}, "marginal_samples must be an integer"),
        ({"estimator": "infonce", "marginal_samples": 4}, "scores every pair of the batch"),
    ],
)
def test_bad_configuration_names_the_problem(kwargs, message):
    kwargs = {"method": "infomax-vae", "image_shape": IMAGE_SHAPE, "latent_dim": LATENT} | kwargs
    with pytest.raises(ValueError, match=message):
        build_model(kwargs.pop("method"), **kwargs)


def test_log_variance_floor_and_bounded_critic_keep_training_finite(images):
    """Guards against the divergence seen with alpha = 10 (variances -> 0, scores -> inf)."""
    model = tiny_model("infomax-vae")
    model.min_log_var = -10.0
    last = model.encoder.layers[-1]
    kernel, bias = last.get_weights()
    bias[LATENT:] = -500.0  # raw log-variances far below the floor
    last.set_weights([kernel, bias])
    assert float(tf.reduce_min(model.encode(images).log_var)) == pytest.approx(-10.0)
    for var in model.critic.trainable_variables:
        var.assign(var * 1e4)
    noise = model.draw_noise(10)
    z = model.encode(images[:10]).mean
    joint, marginal = model.critic.joint_and_marginal(images[:10], z, noise.permutation)
    assert float(tf.reduce_max(tf.abs(tf.concat([joint, marginal], 0)))) <= 20.0
    assert np.isfinite(float(model.compute_terms(images[:10]).loss))
    unbounded = tiny_model("infomax-vae")
    unbounded.min_log_var = None
    unbounded.encoder.layers[-1].set_weights([kernel, bias])
    assert float(tf.reduce_min(unbounded.encode(images).log_var)) < -400


def test_marginal_samples_average_the_bound_over_k_derangements(images):
    """marginal_samples = K: eq. 6's marginal term over K derangements, the first one K = 1's."""
    from tf_infomax.objectives.mi_estimators import f_dual_kl

    one, four = tiny_model("infomax-vae"), tiny_model("infomax-vae")
    assert one.marginal_samples == 16  # the f-KL default (auto)
    one.marginal_samples, four.marginal_samples = 1, 4
    x = images[:10]
    single, several = one.draw_noise(10), four.draw_noise(10)
    blocks = tf.reshape(several.permutation, [4, 10]).numpy()
    np.testing.assert_array_equal(blocks[0], single.permutation.numpy())
    assert all((block != np.arange(10)).all() for block in blocks)  # each a derangement
    assert len({tuple(block) for block in blocks}) == 4  # independent draws
    z = one.encode(x).mean
    per_block = [one.critic.joint_and_marginal(x, z, block) for block in blocks]
    joint, marginal = one.critic.joint_and_marginal(x, z, several.permutation)
    np.testing.assert_allclose(marginal.numpy(), np.concatenate([m for _, m in per_block]))
    expected = float(tf.reduce_mean(joint)) - np.mean(
        [float(tf.reduce_mean(tf.exp(m - 1.0))) for _, m in per_block]
    )
    assert float(f_dual_kl(joint, marginal).mi) == pytest.approx(expected, rel=1e-5)
    assert np.isfinite(float(four.compute_terms(x, noise=several).loss))
    restored = InfoMaxVAE.from_config(four.get_config())
    assert restored.marginal_samples == 4
