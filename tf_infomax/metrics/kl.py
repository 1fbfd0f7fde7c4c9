"""KL(q(z|x) || p(z)) in closed form for a diagonal Gaussian posterior and p(z) = N(0, I).

The KL term of eq. 1, per example:

    KL = 1/2 sum_d ( exp(log_var_d) + mean_d^2 - 1 - log_var_d )
"""

from __future__ import annotations

import numpy as np

from tf_infomax.metrics.metric import EvalContext, Metric
from tf_infomax.metrics.statistics import mean_and_stderr


def gaussian_kl_to_prior(mean: np.ndarray, log_var: np.ndarray) -> np.ndarray:
    """Analytic KL(N(mean, diag(exp(log_var))) || N(0, I)) per example, shape (N,)."""
    mean = np.asarray(mean, np.float64)
    log_var = np.asarray(log_var, np.float64)
    return 0.5 * np.sum(np.exp(log_var) + mean**2 - 1.0 - log_var, axis=-1)


def _entry(context: EvalContext) -> dict:
    codes = context.codes
    kl, stderr = mean_and_stderr(gaussian_kl_to_prior(codes.mean, codes.log_var))
    return {
        "value": kl,
        "stderr": stderr,
        "estimator": "analytic KL(q(z|x) || N(0, I)), mean over x",
        **context.common,
    }


METRIC = Metric("kl", _entry)
