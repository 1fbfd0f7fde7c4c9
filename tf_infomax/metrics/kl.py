"""KL(q(z|x) || p(z)) in closed form for a diagonal Gaussian posterior and p(z) = N(0, I).

The KL term of eq. 1, per example:

    KL = 1/2 sum_d ( exp(log_var_d) + mean_d^2 - 1 - log_var_d )
"""

from __future__ import annotations

import numpy as np


def gaussian_kl_to_prior(mean: np.ndarray, log_var: np.ndarray) -> np.ndarray:
    """Analytic KL(N(mean, diag(exp(log_var))) || N(0, I)) per example, shape (N,)."""
    mean = np.asarray(mean, np.float64)
    log_var = np.asarray(log_var, np.float64)
    return 0.5 * np.sum(np.exp(log_var) + mean**2 - 1.0 - log_var, axis=-1)
