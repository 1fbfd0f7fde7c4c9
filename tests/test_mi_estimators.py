"""MI bounds: closed-form checks on fixed scores and fits on correlated Gaussians."""

from __future__ import annotations

import math

import keras
import numpy as np
import pytest
import tensorflow as tf

from tf_infomax.networks import MLPCritic
from tf_infomax.objectives import (
    ESTIMATORS,
    donsker_varadhan,
    f_dual_kl,
    gaussian_mutual_information,
    get_estimator,
    infonce,
    jensen_shannon,
)

# The Gaussian test: x, z in R^2, corr 0.8 per dimension; I = -log(1 - 0.64) = 1.0217 nats.
RHO, DIM, BATCH = 0.8, 2, 128
TOLERANCE_NATS = 0.15  # lower bounds from a 1,500-step fit land 0.02-0.08 below the truth
STEPS = {"f-kl": 1500, "dv": 1500, "js": 1500, "infonce": 600}


def test_f_dual_kl_matches_formula():
    joint, marginal = tf.constant([1.0, 2.0, 3.0]), tf.constant([0.5, -1.0])
    expected = 2.0 - np.mean(np.exp(np.array([0.5, -1.0]) - 1.0))
    assert float(f_dual_kl(joint, marginal).mi) == pytest.approx(expected, rel=1e-6)


def test_donsker_varadhan_matches_formula_and_dominates_f_dual():
    joint, marginal = tf.constant([1.0, 2.0, 3.0]), tf.constant([0.5, -1.0])
    expected = 2.0 - math.log(np.mean(np.exp([0.5, -1.0])))
    dv = float(donsker_varadhan(joint, marginal).mi)
    assert dv == pytest.approx(expected, rel=1e-6)
    assert dv >= float(f_dual_kl(joint, marginal).mi)  # DV is the tighter bound (App. C)


def test_jensen_shannon_objective_and_mi_readout():
    joint, marginal = tf.constant([2.0, 0.0]), tf.constant([-1.0, 1.0])
    softplus = lambda v: np.log1p(np.exp(v))  # noqa: E731
    objective = np.mean(-softplus(-np.array([2.0, 0.0]))) - np.mean(softplus(np.array([-1, 1])))
    estimate = jensen_shannon(joint, marginal)
    assert float(estimate.critic_objective) == pytest.approx(objective, rel=1e-6)
    assert float(estimate.mi) == pytest.approx(1.0 + 1.0 - np.mean(np.exp([-1.0, 1.0])), rel=1e-6)


def test_infonce_is_log_batch_for_a_perfect_critic_and_zero_for_a_blind_one():
    perfect = tf.constant(np.eye(5, dtype=np.float32) * 100.0)
    assert float(infonce(perfect).mi) == pytest.approx(math.log(5), abs=1e-4)
    assert float(infonce(tf.zeros([5, 5])).mi) == pytest.approx(0.0, abs=1e-6)


def test_exp_guard_keeps_finite_bounds_finite():
    # exp(95 - 1) overflows float32, but the mean over 10^4 scores (~6.6e36) does not.
    marginal = tf.concat([[95.0], tf.fill([9_999], -5.0)], axis=0)
    joint = tf.zeros([4])
    naive = tf.reduce_mean(joint) - tf.reduce_mean(tf.exp(marginal - 1.0))
    assert not np.isfinite(float(naive))
    guarded = float(f_dual_kl(joint, marginal).mi)
    exact = -np.mean(np.exp(np.float64(marginal.numpy()) - 1.0))
    assert np.isfinite(guarded) and guarded == pytest.approx(exact, rel=1e-4)
    assert np.isfinite(float(jensen_shannon(joint, marginal).mi))


def test_unknown_estimator_names_valid_ones():
    with pytest.raises(ValueError, match="Unknown MI estimator 'mine'.*f-kl"):
        get_estimator("mine")


def _correlated_gaussians(n: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    x = rng.standard_normal((n, DIM)).astype(np.float32)
    noise = rng.standard_normal((n, DIM)).astype(np.float32)
    return x, (RHO * x + math.sqrt(1 - RHO**2) * noise).astype(np.float32)


@pytest.mark.parametrize("name", sorted(ESTIMATORS))
def test_estimator_recovers_gaussian_mutual_information(name):
    estimator = get_estimator(name)
    keras.utils.set_random_seed(0)
    critic = MLPCritic((64, 64))
    critic.build((None, DIM), (None, DIM))
    optimizer = keras.optimizers.Adam(1e-3)

    def bound(x, z):
        if estimator.uses_score_matrix:
            return estimator.fn(critic.score_matrix(x, z))
        return estimator.fn(*critic.joint_and_marginal(x, z, tf.random.shuffle(tf.range(BATCH))))

    @tf.function
    def step(x, z):
        with tf.GradientTape() as tape:
            loss = -bound(x, z).critic_objective
        grads = tape.gradient(loss, critic.trainable_variables)
        optimizer.apply_gradients(zip(grads, critic.trainable_variables, strict=True))

    xs, zs = _correlated_gaussians(STEPS[name] * BATCH, seed=1)
    for x, z in zip(np.split(xs, STEPS[name]), np.split(zs, STEPS[name]), strict=True):
        step(x, z)
    xe, ze = _correlated_gaussians(50 * BATCH, seed=2)
    estimate = np.mean(
        [float(bound(x, z).mi) for x, z in zip(np.split(xe, 50), np.split(ze, 50), strict=True)]
    )
    truth = gaussian_mutual_information(RHO, DIM)
    print(f"{name}: true {truth:.4f} estimated {estimate:.4f}")
    assert abs(estimate - truth) < TOLERANCE_NATS


@pytest.mark.parametrize("batch", [2, 3, 10, 100])
def test_marginal_permutation_is_a_derangement(batch):
    """No x is ever paired with its own z in the marginal term (fixed points are joint pairs)."""
    from tf_infomax.objectives.mi_estimators import marginal_permutation

    seen = set()
    for step in range(50):
        perm = marginal_permutation(batch, [7, step]).numpy()
        assert sorted(perm) == list(range(batch))
        assert not np.any(perm == np.arange(batch))
        seen.add(tuple(perm))
    # Random, not one fixed shift: every cyclic order of 2 or 3, many of 10 or 100.
    assert len(seen) == {2: 1, 3: 2}[batch] if batch < 4 else len(seen) > 10


def test_bounds_agree_with_tensorflow_probability():
    """TFP's implementations as oracles, on a score matrix with joint pairs on its diagonal."""
    import tensorflow_probability as tfp

    from tf_infomax.objectives.mi_estimators import f_dual_kl, infonce, jensen_shannon

    scores = tf.constant(np.random.default_rng(3).normal(size=(7, 7)) * 2, tf.float32)
    joint = tf.linalg.diag_part(scores)
    marginal = tf.boolean_mask(scores, ~tf.eye(7, dtype=bool))
    oracle = tfp.vi.mutual_information
    # eq. 6 is Nguyen-Wainwright-Jordan's bound; the JS critic objective and InfoNCE as in TFP.
    pairs = [
        (f_dual_kl(joint, marginal).mi, oracle.lower_bound_nguyen_wainwright_jordan(scores)),
        (
            jensen_shannon(joint, marginal).critic_objective,
            oracle.lower_bound_jensen_shannon(scores),
        ),
        (infonce(scores).mi, oracle.lower_bound_info_nce(scores)),
    ]
    for ours, theirs in pairs:
        assert float(ours) == pytest.approx(float(theirs), rel=1e-5, abs=1e-5)
