"""Small shared numerics of the metrics."""

from __future__ import annotations

import math

import numpy as np

LOG_2PI = math.log(2.0 * math.pi)  # log-density constant of a unit Gaussian, per dimension


def mean_and_stderr(values: np.ndarray) -> tuple[float, float]:
    """Mean of per-example values and its standard error std / sqrt(n) (0 for one value)."""
    values = np.asarray(values, np.float64).reshape(-1)
    stderr = float(np.std(values, ddof=1) / math.sqrt(values.size)) if values.size > 1 else 0.0
    return float(np.mean(values)), stderr
