"""Metrics against closed forms: linear-Gaussian and constant encoders, linear-Gaussian decoder.

Encoder case: x ~ N(0, I_3), q(z|x) = N(A x, s^2 I) with A = diag(1.5, 0.5, 0). Then
Var_x(E[z_d|x]) = a_d^2 (AU = 2), KL(q(z|x) || p) = 1/2 sum(s^2 + a^2 x^2 - 1 - log s^2),
q(z) = N(0, A^2 + s^2 I), and I(x; z) = 1/2 sum log(1 + a^2 / s^2).

Decoder case: p(z) = N(0, I_2), p(x|z) = N(W z + b, sigma^2 I_4), so p(x) = N(b, W W^T +
sigma^2 I) and the exact posterior is Gaussian (diagonal, as W has orthogonal columns).
"""

from __future__ import annotations

import math

import numpy as np
import pytest
import tensorflow as tf
import tensorflow_probability as tfp
from scipy.stats import multivariate_normal

from tf_infomax.metrics import (
    active_units,
    aggregate_posterior_terms,
    encode_dataset,
    gaussian_kl_to_prior,
    importance_weighted_log_likelihood,
    latent_variances,
    log_aggregate_posterior,
    log_posterior_matrix,
    most_active_dims,
)

A, S = np.array([1.5, 0.5, 0.0]), 0.5
N = 3000


def linear_gaussian_codes(n: int = N, seed: int = 10) -> tuple[np.ndarray, np.ndarray]:
    x = np.random.default_rng(seed).standard_normal((n, A.size))
    return x * A, np.full((n, A.size), math.log(S**2))


def gaussian_kl(cov_diag: np.ndarray) -> float:
    """KL(N(0, diag(cov)) || N(0, I))."""
    return float(0.5 * np.sum(cov_diag - 1.0 - np.log(cov_diag)))


# ------------------------------------------------------------------ active units (eq. 7)
def test_active_units_of_linear_encoder_are_its_nonzero_gains():
    mean, _ = linear_gaussian_codes()
    au = active_units(mean, threshold=0.01)
    assert au.count == 2 and au.threshold == 0.01
    np.testing.assert_allclose(au.variances, A**2, rtol=0.1, atol=1e-12)
    assert au.count_at(0.3) == 1 and au.count_at(3.0) == 0
    assert most_active_dims(au.variances, 2) == [0, 1]


def test_active_units_of_constant_encoder_is_zero_and_threshold_is_checked():
    assert active_units(np.full((50, 4), 0.7)).count == 0
    with pytest.raises(ValueError, match="threshold"):
        active_units(np.zeros((5, 2)), threshold=0.0)
    with pytest.raises(ValueError, match="N >= 2"):
        latent_variances(np.zeros((1, 3)))


# ------------------------------------------------------------------ KL(q(z|x) || p(z))
def test_kl_matches_tfp_and_the_linear_encoder_expectation():
    rng = np.random.default_rng(1)
    mean, log_var = rng.normal(size=(5, 3)), rng.normal(size=(5, 3))
    tfd = tfp.distributions
    expected = tfd.MultivariateNormalDiag(mean, np.exp(0.5 * log_var)).kl_divergence(
        tfd.MultivariateNormalDiag(np.zeros(3))
    )
    np.testing.assert_allclose(gaussian_kl_to_prior(mean, log_var), expected, rtol=1e-10)

    mean, log_var = linear_gaussian_codes()
    kl = gaussian_kl_to_prior(mean, log_var)
    analytic = 0.5 * np.sum(S**2 + A**2 - 1.0 - math.log(S**2))
    assert kl.mean() == pytest.approx(analytic, abs=4 * kl.std() / math.sqrt(N))


# ------------------------------------------------------------------ aggregate posterior (eq. 10)
def test_log_posterior_matrix_matches_direct_densities():
    rng = np.random.default_rng(2)
    z, mean, log_var = rng.normal(size=(4, 3)), rng.normal(size=(6, 3)), rng.normal(size=(6, 3))
    direct = [
        [
            multivariate_normal(m, np.diag(np.exp(v))).logpdf(zb)
            for m, v in zip(mean, log_var, strict=True)
        ]
        for zb in z
    ]
    np.testing.assert_allclose(log_posterior_matrix(z, mean, log_var), direct, rtol=1e-10)
    chunked = log_aggregate_posterior(z, mean, log_var, max_elements=7)  # one row per chunk
    np.testing.assert_allclose(chunked, log_aggregate_posterior(z, mean, log_var), rtol=1e-12)


def test_aggregate_terms_of_linear_encoder_approach_closed_form():
    mean, log_var = linear_gaussian_codes()
    terms = aggregate_posterior_terms(mean, log_var, num_samples=2, seed=0)
    true_mi = 0.5 * np.sum(np.log1p(A**2 / S**2))  # 1.498 nats
    true_kl_aggregate = gaussian_kl(A**2 + S**2)
    true_kl = 0.5 * np.sum(S**2 + A**2 - 1.0 - math.log(S**2))
    # Finite-N bias (the mixture of N posteriors is a kernel density estimate) plus MC noise.
    assert terms.mutual_information == pytest.approx(true_mi, abs=0.06)
    assert terms.kl_aggregate_prior == pytest.approx(true_kl_aggregate, abs=0.06)
    assert terms.mutual_information_stderr < 0.03
    # eq. 10: I = KL(q(z|x) || p) - KL(q(z) || p), on the same samples exactly.
    assert terms.kl_posterior_prior == pytest.approx(
        terms.mutual_information + terms.kl_aggregate_prior, rel=1e-12
    )
    assert terms.kl_posterior_prior == pytest.approx(true_kl, abs=0.08)
    assert terms.num_examples == N and terms.num_samples == 2


def test_distinct_points_saturate_at_log_n():
    n = 500
    mean = np.arange(n, dtype=np.float64)[:, None] * np.ones((1, 2))
    terms = aggregate_posterior_terms(mean, np.full((n, 2), math.log(1e-6)), seed=3)
    # Not 1e-9: the expanded quadratic form loses ~1e-16 of (500 / 1e-3)^2 to rounding.
    assert terms.mutual_information == pytest.approx(math.log(n), abs=1e-6)
    assert terms.mutual_information <= math.log(n) + 1e-6
    assert terms.log_n == pytest.approx(math.log(n))


def test_constant_encoder_has_zero_information_and_analytic_kl():
    n, dim, c, log_var = 400, 3, np.array([0.5, -1.0, 2.0]), math.log(0.3)
    mean, log_vars = np.tile(c, (n, 1)), np.full((n, dim), log_var)
    terms = aggregate_posterior_terms(mean, log_vars, seed=4)
    analytic = 0.5 * (np.sum(c**2) + dim * math.exp(log_var) - dim - dim * log_var)
    assert terms.mutual_information == pytest.approx(0.0, abs=1e-9)
    assert gaussian_kl_to_prior(mean, log_vars) == pytest.approx(np.full(n, analytic))
    # q(z) = q(z|x), so KL(q(z) || p) is the same KL, up to Monte Carlo noise.
    assert terms.kl_aggregate_prior == pytest.approx(
        analytic, abs=4 * terms.kl_aggregate_prior_stderr
    )
    assert active_units(mean).count == 0


def test_encode_dataset_collects_every_batch_and_respects_limit():
    x = np.random.default_rng(5).standard_normal((23, 3)).astype(np.float32)
    labels = np.arange(23) % 4
    data = tf.data.Dataset.from_tensor_slices((x, labels)).batch(5)
    encode = lambda v: (v * A.astype(np.float32), tf.zeros_like(v))  # noqa: E731
    codes = encode_dataset(encode, data)
    np.testing.assert_allclose(codes.mean, x * A.astype(np.float32))
    np.testing.assert_array_equal(codes.labels, labels)
    limited = encode_dataset(encode, data, limit=12)
    assert limited.num_examples == 12 and limited.latent_dim == 3
    assert encode_dataset(encode, tf.data.Dataset.from_tensor_slices(x).batch(4)).labels is None


# ------------------------------------------------------------------ log-likelihood (IWAE)
W = np.array([[1.0, 0.0], [0.0, 2.0], [1.0, 0.0], [0.0, -1.0]], np.float32)
B = np.array([0.5, -0.2, 0.1, 0.3], np.float32)
SIGMA = 0.3
POSTERIOR_VAR = (1.0 / (1.0 + np.diag(W.T @ W) / SIGMA**2)).astype(np.float32)


def linear_decoder_log_prob(x, z):
    mean = tf.matmul(z, W.T) + B
    return tf.reduce_sum(
        -0.5 * ((x - mean) / SIGMA) ** 2 - math.log(SIGMA) - 0.5 * math.log(2 * math.pi), -1
    )


def exact_posterior(x):
    mean = POSTERIOR_VAR * tf.matmul(x - B, W) / SIGMA**2
    return mean, tf.math.log(tf.ones_like(mean) * POSTERIOR_VAR)


def wide_posterior(x):
    """A deliberately mismatched q(z|x): shrunk mean, three times the variance."""
    mean, log_var = exact_posterior(x)
    return 0.9 * mean, log_var + math.log(3.0)


@pytest.fixture(scope="module")
def linear_gaussian_data():
    rng = np.random.default_rng(6)
    z = rng.standard_normal((150, 2))
    x = (z @ W.T + B + SIGMA * rng.standard_normal((150, 4))).astype(np.float32)
    log_px = multivariate_normal(B, W @ W.T + SIGMA**2 * np.eye(4)).logpdf(x)
    return tf.data.Dataset.from_tensor_slices(x).batch(64), log_px


def test_exact_posterior_gives_exact_log_likelihood_for_every_k(linear_gaussian_data):
    # Every importance weight equals p(x): any use of the analytic KL would break this.
    data, log_px = linear_gaussian_data
    for k in (1, 7):
        estimate = importance_weighted_log_likelihood(
            exact_posterior, linear_decoder_log_prob, data, num_samples=k
        )
        np.testing.assert_allclose(estimate.per_example, log_px, atol=2e-4)
        assert estimate.num_samples == k and estimate.num_examples == 150


def test_mismatched_posterior_estimate_increases_with_k_to_the_truth(linear_gaussian_data):
    data, log_px = linear_gaussian_data
    estimates = {
        k: importance_weighted_log_likelihood(
            wide_posterior, linear_decoder_log_prob, data, num_samples=k, max_pairs=4000, seed=1
        )
        for k in (1, 10, 1000)
    }
    means = [estimates[k].mean for k in (1, 10, 1000)]
    assert means[0] < means[1] < means[2]
    assert means[0] < log_px.mean() - 1.0  # the ELBO gap of this q is about 1.3 nats
    assert estimates[1].elbo == pytest.approx(means[0], abs=1e-4)
    assert estimates[1000].elbo <= estimates[1000].mean
    assert means[2] == pytest.approx(log_px.mean(), abs=0.02)


def test_log_likelihood_is_chunked_over_samples(linear_gaussian_data):
    data, _ = linear_gaussian_data
    # 64 pairs at a time: one sample per chunk for a batch of 64; the value stays close.
    small = importance_weighted_log_likelihood(
        wide_posterior, linear_decoder_log_prob, data, num_samples=200, max_pairs=64, limit=64
    )
    large = importance_weighted_log_likelihood(
        wide_posterior, linear_decoder_log_prob, data, num_samples=200, limit=64
    )
    assert small.num_examples == large.num_examples == 64
    assert small.mean == pytest.approx(large.mean, abs=0.05)
    with pytest.raises(ValueError, match="num_samples"):
        importance_weighted_log_likelihood(
            wide_posterior, linear_decoder_log_prob, data, num_samples=0
        )
