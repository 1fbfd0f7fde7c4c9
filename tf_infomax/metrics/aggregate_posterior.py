"""The aggregated posterior q(z) = (1/N) sum_n q(z|x_n) and the decomposition of Appendix B.

With z_i ~ q(z|x_i) for each of the N evaluation examples (eq. 9-10):

    I(x; z)          = E[ log q(z|x) - log q(z) ]      (``mutual_information``)
    KL(q(z) || p(z)) = E[ log q(z)   - log p(z) ]      (``kl_aggregate_prior``)
    KL(q(z|x) || p)  = E[ log q(z|x) - log p(z) ]      = I + KL(q(z) || p)   (eq. 10)

where log q(z_i) = logsumexp_n log q(z_i|x_n) - log N is computed over *all* N posteriors, in
chunks of z so memory stays bounded. q(x) is the empirical distribution of the N examples, so
I <= log N (Appendix B): the estimate saturates at log N when the posteriors do not overlap.
"""

from __future__ import annotations

import math
import time
from typing import NamedTuple

import numpy as np
from scipy.special import logsumexp

from tf_infomax.metrics.metric import EvalContext, Metric
from tf_infomax.metrics.statistics import LOG_2PI, mean_and_stderr

DEFAULT_MAX_ELEMENTS = 4_000_000  # entries of one (chunk, N) float64 block: 32 MB


def log_posterior_matrix(z: np.ndarray, mean: np.ndarray, log_var: np.ndarray) -> np.ndarray:
    """log q(z_b | x_n) for every pair, shape (B, N), for diagonal Gaussians N(mean_n, var_n).

    The quadratic form sum_d (z_bd - mean_nd)^2 / var_nd is expanded into three matrix
    products, so the cost is O(B N D) flops with O(B N) memory.
    """
    z = np.asarray(z, np.float64)
    mean = np.asarray(mean, np.float64)
    log_var = np.asarray(log_var, np.float64)
    precision = np.exp(-log_var)
    quadratic = (
        (z**2) @ precision.T
        - 2.0 * z @ (mean * precision).T
        + np.sum(mean**2 * precision, axis=1)[None, :]
    )
    return -0.5 * (quadratic + np.sum(log_var, axis=1)[None, :] + z.shape[1] * LOG_2PI)


def log_aggregate_posterior(
    z: np.ndarray,
    mean: np.ndarray,
    log_var: np.ndarray,
    max_elements: int = DEFAULT_MAX_ELEMENTS,
) -> np.ndarray:
    """log q(z_b) = log (1/N) sum_n q(z_b | x_n) for each row of z, shape (B,)."""
    num = mean.shape[0]
    chunk = max(1, max_elements // num)
    out = np.empty(z.shape[0], np.float64)
    for start in range(0, z.shape[0], chunk):
        block = log_posterior_matrix(z[start : start + chunk], mean, log_var)
        out[start : start + chunk] = logsumexp(block, axis=1) - math.log(num)
    return out


class AggregatePosteriorTerms(NamedTuple):
    """Monte Carlo estimates (nats) of the terms of eq. 10, with their standard errors."""

    mutual_information: float
    mutual_information_stderr: float
    kl_aggregate_prior: float
    kl_aggregate_prior_stderr: float
    kl_posterior_prior: float  # Monte Carlo; equals the sum of the two terms above
    num_examples: int
    num_samples: int

    @property
    def log_n(self) -> float:
        """The upper bound of the aggregate MI estimate (Appendix B)."""
        return math.log(self.num_examples)


def aggregate_posterior_terms(
    mean: np.ndarray,
    log_var: np.ndarray,
    *,
    num_samples: int = 1,
    seed: int = 0,
    max_elements: int = DEFAULT_MAX_ELEMENTS,
) -> AggregatePosteriorTerms:
    """I(x; z) and KL(q(z) || p(z)) of eq. 10 from (N, D) posterior parameters.

    Args:
        mean, log_var: parameters of q(z|x_n) for the N evaluation examples.
        num_samples: z samples per example (the standard error falls as 1/sqrt(N * samples)).
        seed: seed of the z samples.
        max_elements: size of one block of the (samples, N) log-density matrix.
    """
    mean = np.asarray(mean, np.float64)
    log_var = np.asarray(log_var, np.float64)
    if mean.ndim != 2 or mean.shape != log_var.shape or mean.shape[0] < 1:
        raise ValueError(f"mean and log_var must both be (N, D); got {mean.shape}, {log_var.shape}")
    if num_samples < 1:
        raise ValueError(f"num_samples must be >= 1, got {num_samples}.")
    rng = np.random.default_rng(seed)
    latent_dim = mean.shape[1]
    information, kl_aggregate = [], []
    for _ in range(num_samples):
        noise = rng.standard_normal(mean.shape)
        z = mean + np.exp(0.5 * log_var) * noise
        log_q_z_given_x = -0.5 * np.sum(noise**2 + log_var + LOG_2PI, axis=1)
        log_prior = -0.5 * np.sum(z**2, axis=1) - 0.5 * latent_dim * LOG_2PI
        log_q_z = log_aggregate_posterior(z, mean, log_var, max_elements)
        information.append(log_q_z_given_x - log_q_z)
        kl_aggregate.append(log_q_z - log_prior)
    mi, mi_err = mean_and_stderr(np.concatenate(information))
    kl_agg, kl_agg_err = mean_and_stderr(np.concatenate(kl_aggregate))
    return AggregatePosteriorTerms(
        mutual_information=mi,
        mutual_information_stderr=mi_err,
        kl_aggregate_prior=kl_agg,
        kl_aggregate_prior_stderr=kl_agg_err,
        kl_posterior_prior=mi + kl_agg,
        num_examples=int(mean.shape[0]),
        num_samples=int(num_samples),
    )


def _terms(context: EvalContext) -> tuple[AggregatePosteriorTerms, dict]:
    """The shared computation of both entries, and the settings they record."""

    def compute():
        started = time.perf_counter()
        codes, config = context.codes, context.config
        terms = aggregate_posterior_terms(
            codes.mean, codes.log_var, num_samples=config.aggregate_samples, seed=config.seed
        )
        shared = {
            "num_samples": terms.num_samples,
            "log_n": round(terms.log_n, 6),
            "kl_posterior_prior_monte_carlo": terms.kl_posterior_prior,
            "time_s": round(time.perf_counter() - started, 3),
            **context.common,
        }
        return terms, shared

    return context.cached("aggregate_posterior", compute)


def _mutual_information_entry(context: EvalContext) -> dict:
    terms, shared = _terms(context)
    return {
        "value": terms.mutual_information,
        "stderr": terms.mutual_information_stderr,
        "estimator": "E[log q(z|x) - log (1/N) sum_n q(z|x_n)], z ~ q(z|x) (eq. 9-10)",
        "upper_bound": "log N",
        **shared,
    }


def _kl_aggregate_prior_entry(context: EvalContext) -> dict:
    terms, shared = _terms(context)
    return {
        "value": terms.kl_aggregate_prior,
        "stderr": terms.kl_aggregate_prior_stderr,
        "estimator": "E[log (1/N) sum_n q(z|x_n) - log p(z)], z ~ q(z|x) (Appendix B)",
        "identity": "kl_posterior_prior = mutual_information_aggregate + kl_aggregate_prior",
        **shared,
    }


MUTUAL_INFORMATION = Metric("mutual_information_aggregate", _mutual_information_entry)
KL_AGGREGATE_PRIOR = Metric("kl_aggregate_prior", _kl_aggregate_prior_entry)
