"""Active units (eq. 7; Burda et al., 2016): latent dimensions whose posterior mean moves with x.

    AU = sum_d 1{ Cov_x( E_q(z_d|x)[z_d] ) >= epsilon }

The covariance is the (unbiased) variance over the evaluation set of each posterior-mean
coordinate. Burda et al. use epsilon = 0.01; the paper's text says 0.05 and Appendix E quotes
[0.01, 0.1] (the variances are widely bimodal, so the count rarely depends on it).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import NamedTuple

import numpy as np

from tf_infomax.metrics.metric import EvalContext, Metric

DEFAULT_THRESHOLD = 0.01  # Burda et al. (2016)
PAPER_THRESHOLD = 0.05  # InfoMax-VAE, text under eq. 7


class ActiveUnits(NamedTuple):
    """The AU count at ``threshold`` and the per-dimension variances it was read from."""

    count: int
    threshold: float
    variances: np.ndarray  # (D,) Cov_x(E_q[z_d])

    def count_at(self, threshold: float) -> int:
        return int(np.sum(self.variances >= threshold))


def latent_variances(posterior_means: np.ndarray) -> np.ndarray:
    """Var_x(E_q[z_d | x]) for each dimension d, from an (N, D) array of posterior means."""
    means = np.asarray(posterior_means, np.float64)
    if means.ndim != 2 or means.shape[0] < 2:
        raise ValueError(f"Need posterior means of shape (N >= 2, D), got {means.shape}.")
    return np.var(means, axis=0, ddof=1)


def active_units(posterior_means: np.ndarray, threshold: float = DEFAULT_THRESHOLD) -> ActiveUnits:
    """Number of active latent dimensions (eq. 7) from an (N, D) array of posterior means."""
    if not threshold > 0:
        raise ValueError(f"threshold (epsilon of eq. 7) must be > 0, got {threshold}.")
    variances = latent_variances(posterior_means)
    return ActiveUnits(int(np.sum(variances >= threshold)), float(threshold), variances)


def most_active_dims(variances: np.ndarray, count: int = 2) -> Sequence[int]:
    """Indices of the ``count`` dimensions with the largest variance, most active first."""
    order = np.argsort(-np.asarray(variances), kind="stable")
    return [int(d) for d in order[:count]]


def _entry(context: EvalContext) -> dict:
    codes = context.codes
    au = active_units(codes.mean, context.config.threshold)
    return {
        "value": au.count,
        "threshold": au.threshold,
        "count_at_paper_threshold": au.count_at(PAPER_THRESHOLD),
        "paper_threshold": PAPER_THRESHOLD,
        "latent_dim": codes.latent_dim,
        "variances": [round(float(v), 6) for v in au.variances],
        "statistic": "unbiased variance over x of the posterior means (eq. 7)",
        **context.common,
    }


METRIC = Metric("active_units", _entry)
