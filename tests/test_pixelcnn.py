"""PixelCNN decoder (Section 6.3): causal masks, exact sampling, PixelVAE save/load."""

from __future__ import annotations

import itertools

import keras
import numpy as np
import pytest
import tensorflow as tf

from tf_infomax.models import InfoMaxVAE, method_weights
from tf_infomax.networks import MaskedConv2D, MLPCritic, PixelCNNDecoder, causal_mask
from tf_infomax.networks.registry import build_networks

LATENT = 3


def tiny_decoder(image_shape, num_layers=4, filters=6, seed=0):
    keras.utils.set_random_seed(seed)
    decoder = PixelCNNDecoder(image_shape, LATENT, num_layers=num_layers, filters=filters)
    decoder.build((None, LATENT), (None, *image_shape))
    # Non-zero biases, so a masked-out input cannot hide behind a zero pre-activation.
    for weight in decoder.weights:
        if "bias" in weight.path:
            weight.assign(np.random.default_rng(1).normal(0, 0.3, weight.shape))
    return decoder


def order_index(shape):
    """Autoregressive position of every (row, col, channel): raster scan, then channel."""
    return np.arange(np.prod(shape)).reshape(shape)


def test_mask_a_hides_the_centre_and_mask_b_shows_it():
    a = causal_mask((3, 3), 1, 1, mask_type="A")[..., 0, 0]
    b = causal_mask((3, 3), 1, 1, mask_type="B")[..., 0, 0]
    np.testing.assert_array_equal(a, [[1, 1, 1], [1, 0, 0], [0, 0, 0]])
    np.testing.assert_array_equal(b, [[1, 1, 1], [1, 1, 0], [0, 0, 0]])
    # RGB at the centre: type A lets G see R, B see R and G; type B adds each channel itself.
    rgb_a = causal_mask((1, 1), 3, 3, mask_type="A", data_channels=3)[0, 0]
    np.testing.assert_array_equal(rgb_a, np.triu(np.ones((3, 3)), 1))
    rgb_b = causal_mask((1, 1), 3, 3, mask_type="B", data_channels=3)[0, 0]
    np.testing.assert_array_equal(rgb_b, np.triu(np.ones((3, 3))))
    with pytest.raises(ValueError, match="odd"):
        causal_mask((2, 3), 1, 1, mask_type="A")
    with pytest.raises(ValueError, match="padding"):
        MaskedConv2D(4, 3, padding="valid")


@pytest.mark.parametrize("image_shape", [(4, 3, 1), (3, 3, 2)])
def test_logit_depends_only_on_earlier_pixels(image_shape):
    decoder = tiny_decoder(image_shape)
    rng = np.random.default_rng(0)
    z = rng.normal(size=(1, LATENT)).astype("float32")
    x = (rng.random((1, *image_shape)) < 0.5).astype("float32")
    order = order_index(image_shape)
    logits = decoder(z, x).numpy()[0]
    for i in range(order.size):
        later, earlier = order >= i, order < i
        changed = np.where(later, 1.0 - x[0], x[0])[None]  # flip pixel i and all after it
        np.testing.assert_allclose(decoder(z, changed).numpy()[0][order == i], logits[order == i])
        if i > 0:
            changed = np.where(earlier, 1.0 - x[0], x[0])[None]
            assert not np.allclose(decoder(z, changed).numpy()[0][order == i], logits[order == i])
    # z reaches every logit.
    assert not np.allclose(decoder(z + 1.0, x).numpy(), logits[None])


def test_sampling_is_exact_and_binary():
    image_shape = (1, 2, 1)
    decoder = tiny_decoder(image_shape, num_layers=3, filters=4)
    z = np.tile(np.random.default_rng(2).normal(size=(1, LATENT)), (4000, 1)).astype("float32")
    samples = decoder.sample(z, seed=5).numpy()
    assert samples.shape == (4000, *image_shape)
    assert set(np.unique(samples)) <= {0.0, 1.0}
    np.testing.assert_array_equal(decoder.sample(z[:7], seed=5), decoder.sample(z[:7], seed=5))
    # Frequencies of the 4 images match p(x|z) computed with teacher forcing.
    for bits in itertools.product([0.0, 1.0], repeat=2):
        x = np.array(bits, np.float32).reshape(1, *image_shape)
        logits = decoder(z[:1], x).numpy().reshape(-1)
        log_p = -np.sum(np.logaddexp(0.0, np.where(x.reshape(-1) > 0, -logits, logits)))
        frequency = np.mean(np.all(samples.reshape(-1, 2) == bits, axis=1))
        assert frequency == pytest.approx(np.exp(log_p), abs=0.03)


def test_rgb_sampling_shape():
    decoder = tiny_decoder((2, 2, 3), num_layers=2, filters=3)
    samples = decoder.sample(np.zeros((2, LATENT), np.float32), seed=0).numpy()
    assert samples.shape == (2, 2, 2, 3) and set(np.unique(samples)) <= {0.0, 1.0}


def tiny_pixelvae(method="infomax-vae"):
    keras.utils.set_random_seed(0)
    encoder, decoder = build_networks(
        "pixelvae", (6, 5, 1), LATENT, decoder_layers=3, encoder_filters=(3, 4, 5), filters=5
    )
    weights = method_weights(method)
    critic = MLPCritic((6, 4)) if weights.alpha > 0 else None
    return InfoMaxVAE(encoder, decoder, critic, **weights.as_dict())


def test_pixelvae_save_load_round_trip(tmp_path):
    model = tiny_pixelvae()
    model.compile(run_eagerly=True)
    x = (np.random.default_rng(0).random((8, 6, 5, 1)) < 0.4).astype("float32")
    model.fit(x, batch_size=8, epochs=1, verbose=0)
    path = tmp_path / "pixelvae.keras"
    model.save(path)
    loaded = keras.models.load_model(path)
    assert isinstance(loaded.decoder, PixelCNNDecoder) and loaded.decoder_conditions_on_x
    np.testing.assert_allclose(loaded(x), model(x), atol=1e-6)
    noise = model.draw_noise(8)
    for name, value in model.compute_terms(x, noise=noise)._asdict().items():
        assert float(loaded.compute_terms(x, noise=noise)._asdict()[name]) == pytest.approx(
            float(value), rel=1e-5, abs=1e-6
        ), name
    np.testing.assert_array_equal(loaded.sample(3, seed=1), model.sample(3, seed=1))
    assert loaded.critic_optimizer.iterations.numpy() == model.critic_optimizer.iterations.numpy()


def test_autoregressive_decoder_needs_x_and_bernoulli():
    model = tiny_pixelvae("vae")
    with pytest.raises(ValueError, match="needs the images x"):
        model.decode(tf.zeros((2, LATENT)))
    x = tf.zeros((2, 6, 5, 1))
    assert model.decode(tf.zeros((2, LATENT)), x).log_prob(x).shape == (2,)
    encoder, decoder = build_networks("pixelvae", (6, 5, 1), LATENT, encoder_filters=(2,))
    with pytest.raises(ValueError, match="bernoulli"):
        InfoMaxVAE(encoder, decoder, likelihood="gaussian")
