"""Post-hoc MI critic: correlated Gaussians with analytic I(x; z), and a constant encoder.

x ~ N(0, I_2) and q(z|x) = N(rho x, (1 - rho^2) I), so I(x; z) = -log(1 - rho^2) = 1.02 nats.
"""

from __future__ import annotations

import math

import numpy as np
import pytest
import tensorflow as tf

from tf_infomax.metrics import MI_BOUNDS, estimate_mutual_information
from tf_infomax.objectives import gaussian_mutual_information

RHO, DIM = 0.8, 2
TRUE_MI = gaussian_mutual_information(RHO, DIM)
FAST = dict(steps=500, hidden_units=(32, 16), learning_rate=3e-3)


def correlated_encoder(x):
    return RHO * x, tf.fill(tf.shape(x), math.log(1.0 - RHO**2))


def constant_encoder(x):
    return tf.zeros_like(x) + 0.3, tf.zeros_like(x)


@pytest.fixture(scope="module")
def data():
    rng = np.random.default_rng(0)
    train = rng.standard_normal((8000, DIM)).astype(np.float32)
    held_out = rng.standard_normal((3000, DIM)).astype(np.float32)
    labels = np.zeros(8000, np.int64)
    return (
        tf.data.Dataset.from_tensor_slices((train, labels)).shuffle(8000, seed=0).batch(128),
        tf.data.Dataset.from_tensor_slices(held_out).batch(500),
    )


@pytest.mark.parametrize("bound", ["f-kl", "mine", "js"])
def test_held_out_estimate_recovers_gaussian_mi(data, bound):
    estimate = estimate_mutual_information(correlated_encoder, *data, bound=bound, **FAST)
    # A lower bound, evaluated on fresh pairs: below the truth up to sampling noise.
    assert TRUE_MI - 0.15 < estimate.mi < TRUE_MI + 0.05
    assert estimate.bound == bound
    assert estimate.evaluated_with == ("dv" if bound == "mine" else bound)
    assert estimate.steps == FAST["steps"] and estimate.num_eval_pairs == 3000
    assert abs(estimate.train_mi - TRUE_MI) < 0.2
    # Its two held-out terms make it up; the log-mean-exp is the marginal term's exponent
    # (f-kl: exp(t - 1); dv, which mine is read out with, and js: exp t).
    assert estimate.joint_term - estimate.marginal_term == pytest.approx(estimate.mi, abs=1e-4)
    if bound == "mine":
        assert estimate.marginal_term == pytest.approx(estimate.log_mean_exp_marginal, abs=1e-6)
    else:
        marginal = math.exp(estimate.log_mean_exp_marginal)
        assert estimate.marginal_term == pytest.approx(marginal, rel=1e-5)
    shift = 1.0 if bound == "js" else 0.0  # js reads MI out with the KL dual of t + 1
    assert estimate.joint_term == pytest.approx(estimate.joint_mean + shift, abs=1e-5)


def test_constant_encoder_carries_no_information(data):
    estimate = estimate_mutual_information(constant_encoder, *data, **FAST)
    assert abs(estimate.mi) < 0.05


def test_infonce_stays_below_log_batch_and_bad_names_fail(data):
    train, _ = data
    held_out = tf.data.Dataset.from_tensor_slices(np.eye(DIM, dtype=np.float32) * 3).batch(2)
    estimate = estimate_mutual_information(
        correlated_encoder, train, held_out, bound="infonce", steps=50, hidden_units=(8,)
    )
    assert estimate.mi <= math.log(2) + 1e-6
    assert set(MI_BOUNDS) == {"f-kl", "dv", "mine", "js", "infonce"}
    with pytest.raises(ValueError, match="Unknown MI bound"):
        estimate_mutual_information(correlated_encoder, *data, bound="kl")


def test_the_median_critic_is_reported_and_a_nan_critic_ranks_lowest():
    from tf_infomax.metrics.mutual_information import CriticEstimate, median_estimate

    def critic(mi):
        return CriticEstimate(mi, "f-kl", "f-kl", 10, 0.0, 100)

    assert median_estimate([critic(4.0), critic(-2.0), critic(3.0)]).mi == 3.0
    assert median_estimate([critic(4.0), critic(3.0)]).mi == 3.0  # the lower middle one
    assert median_estimate([critic(float("nan")), critic(1.0), critic(2.0)]).mi == 1.0
