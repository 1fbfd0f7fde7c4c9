"""Networks of Tables 6-8 and Section 6.3: shapes, parameter counts, gradients, registry."""

from __future__ import annotations

import keras
import numpy as np
import pytest
import tensorflow as tf

from tf_infomax import build_model
from tf_infomax.networks import (
    ARCHITECTURES,
    build_networks,
    celeba_decoder,
    celeba_encoder,
    cifar_decoder,
    cifar_encoder,
    default_critic_units,
    latent_traversal,
    resnet_encoder,
    table7_classifier,
    traversal_dims,
)
from tf_infomax.networks.critic import MNIST_CRITIC_UNITS


def conv_params(kernel: int, c_in: int, c_out: int) -> int:
    return (kernel * kernel * c_in + 1) * c_out


def chain(kernel: int, widths) -> int:
    return sum(conv_params(kernel, a, b) for a, b in zip(widths[:-1], widths[1:], strict=True))


def test_cifar_networks_match_table6():
    z = 100
    encoder, decoder = cifar_encoder(latent_dim=z), cifar_decoder(latent_dim=z)
    assert encoder.output_shape == (None, 2 * z)
    assert decoder.output_shape == (None, 32, 32, 3)
    # 4x4 convs 3 -> 32 -> 32 -> 64 -> 128 -> 2z; z -> 1x1 conv 128 -> upconvs 128 .. 32 -> 3.
    assert encoder.count_params() == chain(4, [3, 32, 32, 64, 128, 2 * z]) == 591_816
    expected = conv_params(1, z, 128) + chain(4, [128, 128, 64, 64, 32, 3])
    assert decoder.count_params() == expected == 506_275
    strides = [layer.strides for layer in decoder.layers if "upconv" in layer.name]
    assert strides == [(2, 2)] * 4


def test_celeba_networks_match_table8():
    z = 100
    encoder, decoder = celeba_encoder(latent_dim=z), celeba_decoder(latent_dim=z)
    assert encoder.output_shape == (None, 2 * z)
    assert decoder.output_shape == (None, 64, 64, 3)
    assert encoder.count_params() == chain(4, [3, 32, 64, 128, 256, 2 * z]) == 1_509_544
    expected = conv_params(1, z, 256) + chain(4, [256, 128, 128, 64, 32, 32, 3])
    assert decoder.count_params() == expected == 994_435
    slopes = [float(layer.negative_slope) for layer in encoder.layers if "act" in layer.name]
    assert slopes == pytest.approx([0.2] * 4)


@pytest.mark.parametrize(
    ("arch", "image_shape", "options"),
    [
        (
            "cifar",
            (32, 32, 3),
            {"encoder_filters": (3, 4, 5, 6), "decoder_filters": (7, 6, 5, 4, 3)},
        ),
        ("celeba", (64, 64, 2), {"encoder_filters": (3, 4, 5, 6), "decoder_filters": (4,) * 6}),
        ("pixelvae", (7, 6, 1), {"encoder_filters": (3, 4, 5), "filters": 6}),
    ],
)
def test_gradients_reach_every_weight(arch, image_shape, options):
    latent = 5
    encoder, decoder = build_networks(arch, image_shape, latent, **options)
    x = tf.constant(np.random.default_rng(0).random((3, *image_shape)), tf.float32)
    with tf.GradientTape() as tape:
        params = encoder(x)
        z = params[:, :latent] + params[:, latent:]
        out = decoder(z, x) if getattr(decoder, "conditions_on_x", False) else decoder(z)
        loss = tf.reduce_mean(tf.square(out - x))
    assert params.shape == (3, 2 * latent) and out.shape == (3, *image_shape)
    variables = encoder.trainable_variables + decoder.trainable_variables
    grads = tape.gradient(loss, variables)
    for variable, grad in zip(variables, grads, strict=True):
        assert grad is not None and float(tf.reduce_max(tf.abs(grad))) > 0, variable.path


def test_resnet_encoder_has_three_residual_blocks():
    encoder = resnet_encoder((28, 28, 1), 2)
    assert encoder.output_shape == (None, 4)
    assert sum("add" in layer.name for layer in encoder.layers) == 3
    assert encoder.get_layer("block_2_relu_1").output.shape == (None, 4, 4, 64)


def test_pixelvae_registry_defaults_follow_section_6_3():
    _, decoder = build_networks("pixelvae", (28, 28, 1), 2)
    assert decoder.num_layers == 12 and len(decoder.convs) == 12
    assert [c.mask_type for c in decoder.convs] == ["A"] + ["B"] * 11
    assert build_networks("pixelvae", (8, 8, 1), 2, decoder_layers=5)[1].num_layers == 5


def test_table7_classifier():
    classifier = table7_classifier(6, 10)
    dense = [layer.units for layer in classifier.layers if hasattr(layer, "units")]
    assert dense == [1000, 500, 100, 10]
    probabilities = classifier(np.zeros((2, 6), np.float32))
    np.testing.assert_allclose(np.sum(probabilities, axis=1), 1.0, rtol=1e-5)
    assert table7_classifier(4, 100, hidden_units=(8,)).output_shape == (None, 100)


def test_latent_traversal_fixes_90_percent_of_the_code():
    seen = []

    def decode_mean(z):
        seen.append(z.copy())
        return np.broadcast_to(z[:, :1, None, None], (len(z), 4, 3, 1))  # 4 x 3 images

    code = np.arange(20, dtype=np.float32)
    grid = latent_traversal(decode_mean, code)
    codes = seen[0].reshape(2, 9, 20)  # 10% of 20 dims swept, 9 values each
    assert traversal_dims(20) == [0, 19] and len(traversal_dims(100)) == 10
    for row, dim in enumerate(traversal_dims(20)):
        np.testing.assert_allclose(codes[row, :, dim], np.linspace(-4, 4, 9))
        others = np.delete(codes[row], dim, axis=1)
        np.testing.assert_array_equal(others, np.delete(np.tile(code, (9, 1)), dim, axis=1))
    assert grid.shape == (2 * (4 + 1) - 1, 9 * (3 + 1) - 1, 1)
    joint = latent_traversal(decode_mean, code, dims=[1, 2, 3], joint=True, pad=0)
    assert joint.shape == (4, 9 * 3, 1)


def test_traversal_of_a_celeba_decoder_is_an_image_grid():
    decoder = celeba_decoder(latent_dim=10, filters=(2,) * 5, start_filters=2)
    grid = latent_traversal(lambda z: keras.ops.sigmoid(decoder(z)), np.zeros(10))
    assert grid.shape == (64, 9 * 65 - 1, 3)
    assert grid.min() >= 0.0 and grid.max() <= 1.0


def test_registry_and_critic_presets():
    assert {"fc", "conv", "cifar", "celeba", "pixelvae"} <= set(ARCHITECTURES)
    assert default_critic_units("cifar") == (4000, 1000, 100)
    assert default_critic_units("celeba") == (2000, 1000, 100, 10)
    assert default_critic_units("fc") == default_critic_units("pixelvae") == MNIST_CRITIC_UNITS
    model = build_model("infomax-vae", image_shape=(32, 32, 3), latent_dim=4, arch="cifar")
    assert model.critic.hidden_units == (4000, 1000, 100)
    assert model.critic.x_projection.kernel.shape == (3072, 4000)
    small = build_model("vae", arch="cifar", image_shape=(32, 32, 3), critic_units=(8,), track_mi=1)
    assert small.critic.hidden_units == (8,)


@pytest.mark.parametrize(
    ("arch", "shape", "kwargs", "message"),
    [
        ("cifar", (28, 28, 1), {}, "--image-size 32 32"),
        ("celeba", (64, 64, 3), {"decoder_layers": 3}, "leave it unset"),
        ("cifar", (32, 32, 3), {"filters": 3}, "Bad options"),
        ("conv", (28, 28, 1), {"filters": 3}, "Bad options"),
        ("pixelvae", (28, 28, 1), {"decoder_layers": 1}, "num_layers >= 2"),
    ],
)
def test_bad_architecture_arguments(arch, shape, kwargs, message):
    with pytest.raises(ValueError, match=message):
        build_networks(arch, shape, 2, **kwargs)
