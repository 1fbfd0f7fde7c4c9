"""Objectives: mutual-information bounds and divergences between latent distributions."""

from tf_infomax.objectives.mi_estimators import (
    ESTIMATORS,
    Estimate,
    MIEstimator,
    donsker_varadhan,
    f_dual_kl,
    gaussian_mutual_information,
    get_estimator,
    infonce,
    jensen_shannon,
    log_mean_exp,
)
from tf_infomax.objectives.mmd import gaussian_kernel, mmd

__all__ = [
    "ESTIMATORS",
    "Estimate",
    "MIEstimator",
    "donsker_varadhan",
    "f_dual_kl",
    "gaussian_kernel",
    "gaussian_mutual_information",
    "get_estimator",
    "infonce",
    "jensen_shannon",
    "log_mean_exp",
    "mmd",
]
