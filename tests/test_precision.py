"""--dtype-policy: mixed precision trains finite and close to float32 on CPU (bfloat16)."""

from __future__ import annotations

import math

import keras
import numpy as np
import pytest
import tensorflow as tf

from tf_infomax.config import TrainConfig
from tf_infomax.training import check_config, make_model, train

TINY = dict(
    dataset="sklearn_digits",
    latent_dim=3,
    limit=200,
    batch_size=50,
    validation_limit=0,
    arch_options={"units": 32},
    critic_units=(16, 8),
    strategy="one-device",
    devices="cpu:0",
    marginal_samples=1,  # the dtype policy is what is tested, not the f-KL step's K
)


def test_bfloat16_trains_finite_and_close_to_float32(tmp_path):
    # 4 steps of infomax-vae. bfloat16 keeps 8 bits of mantissa (relative step 2^-8 = 0.4%)
    # in the layers, but the objective runs in float32 (posterior, likelihood, critic
    # scores): the epoch's mean loss stayed within 1e-5 of float32's here; allow 1e-3.
    logs = {}
    for policy in ("float32", "mixed_bfloat16"):
        config = TrainConfig.from_flat(**TINY, dtype_policy=policy)
        # float32 through the explicit strategy argument, bfloat16 through config.strategy.
        strategy = tf.distribute.OneDeviceStrategy("/cpu:0") if policy == "float32" else None
        model, history = train(config, tmp_path / policy, strategy=strategy, verbose=0)
        logs[policy] = history
        assert keras.config.dtype_policy().name == "float32"  # restored after the build
    assert model.encoder.layers[-1].compute_dtype == "bfloat16"
    assert model.encoder.layers[-1].variable_dtype == "float32"
    bf16, f32 = logs["mixed_bfloat16"], logs["float32"]
    for key in ("loss", "reconstruction", "kl", "mi"):
        assert math.isfinite(bf16[key][0]), key
    assert bf16["loss"][0] == pytest.approx(f32["loss"][0], rel=1e-3)
    assert bf16["reconstruction"][0] == pytest.approx(f32["reconstruction"][0], rel=1e-3)


def test_float16_wraps_both_optimizers_in_their_own_loss_scale():
    config = TrainConfig.from_flat(**TINY, dtype_policy="mixed_float16")
    model = make_model(config, (8, 8, 1))
    assert isinstance(model.optimizer, keras.optimizers.LossScaleOptimizer)
    assert isinstance(model.critic_optimizer, keras.optimizers.LossScaleOptimizer)
    assert model.optimizer is not model.critic_optimizer


def test_float16_refuses_diagnostics_that_read_scaled_gradients():
    config = TrainConfig.from_flat(**TINY, dtype_policy="mixed_float16", diagnostics=True)
    with pytest.raises(ValueError, match="--diagnostics.*mixed_bfloat16"):
        check_config(config)
    check_config(config.replace(diagnostics=False))  # the MI clip (auto: 300) is allowed


def test_the_mi_clip_bounds_the_unscaled_gradient_under_loss_scaling():
    """Under a loss scale s the MI clip compares and bounds the gradient / s, as without one."""
    from tf_infomax import build_model
    from tf_infomax.optimizers import FusedAdam

    x = tf.random.stateless_uniform((20, 8, 8, 1), seed=(1, 2))
    grads = {}
    for scaled in (False, True):
        keras.utils.set_random_seed(0)
        model = build_model("infomax-vae", image_shape=(8, 8, 1), latent_dim=3, critic_units=(8,))
        optimizer = FusedAdam(1e-3)
        if scaled:
            optimizer = keras.optimizers.LossScaleOptimizer(optimizer, initial_scale=2.0**10)
        model.compile(optimizer=optimizer, mi_clipnorm=1e-3)  # fires at every step
        noise = model.draw_noise(20, (0, 1))
        _, step_grads, _, _ = model._gradients(x, noise, 1)
        grads[scaled] = [g / (2.0**10 if scaled else 1.0) for g in step_grads]
    for got, want in zip(grads[True], grads[False], strict=True):
        np.testing.assert_allclose(got.numpy(), want.numpy(), rtol=1e-4, atol=1e-7)
