"""FusedAdam makes Keras' Adam updates (the models' default optimizer)."""

from __future__ import annotations

import keras
import numpy as np
import pytest
import tensorflow as tf

from tf_infomax.optimizers import FusedAdam

from conftest import tiny_model


def train_weights(optimizer_class, steps=20, jit=False, **kwargs) -> list[np.ndarray]:
    """Weights after ``steps`` updates with fixed random gradients (one 10x larger)."""
    rng = np.random.default_rng(1)
    weights = [keras.Variable(np.full((50, 30), 0.3, "float32")), keras.Variable(np.zeros(30))]
    schedule = keras.optimizers.schedules.ExponentialDecay(1e-2, 10, 0.9)
    optimizer = optimizer_class(learning_rate=schedule, **kwargs)
    optimizer.build(weights)

    def apply(grads):
        optimizer.apply(grads, weights)

    apply = tf.function(apply, jit_compile=True) if jit else apply
    for step in range(steps):
        scale = 10.0 if step == 5 else 1.0
        grads = [tf.constant(scale * rng.normal(size=w.shape), "float32") for w in weights]
        apply(grads)
    return [w.numpy() for w in weights]


@pytest.mark.parametrize(
    "kwargs", [{}, {"global_clipnorm": 5.0}, {"clipvalue": 0.5}, {"weight_decay": 0.01}]
)
@pytest.mark.parametrize("jit", [False, True])
def test_fused_adam_matches_keras_adam(kwargs, jit):
    expected = train_weights(keras.optimizers.Adam, **kwargs)
    fused = train_weights(FusedAdam, jit=jit, **kwargs)
    assert np.max(np.abs(expected[0] - 0.3)) > 0.05  # the weights moved
    for e, f in zip(expected, fused, strict=True):
        np.testing.assert_allclose(f, e, rtol=1e-5, atol=1e-5)


def test_fused_adam_round_trips_its_config():
    optimizer = FusedAdam(3e-4, beta_1=0.5, epsilon=1e-6, global_clipnorm=10.0)
    restored = keras.optimizers.deserialize(keras.optimizers.serialize(optimizer))
    assert type(restored) is FusedAdam
    assert restored.get_config() == optimizer.get_config()


def test_models_default_to_fused_adam():
    model = tiny_model()
    model.compile()
    assert type(model.optimizer) is FusedAdam and type(model.critic_optimizer) is FusedAdam
