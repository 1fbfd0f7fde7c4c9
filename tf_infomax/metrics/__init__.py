"""Representation metrics of Section 6: AU (eq. 7), KL, MI, log-likelihood, probes.

Every metric takes an encode function ``x -> (mean, log_var)`` (or a model with ``.encode``)
and a dataset, or the posterior parameters it produced, so it runs the same on a live model,
a reloaded one, or a closed-form encoder. ``evaluate_model`` / ``evaluate_run`` assemble them.
"""

from tf_infomax.metrics.active_units import (
    DEFAULT_THRESHOLD,
    ActiveUnits,
    active_units,
    latent_variances,
    most_active_dims,
)
from tf_infomax.metrics.aggregate_posterior import (
    AggregatePosteriorTerms,
    aggregate_posterior_terms,
    log_aggregate_posterior,
    log_posterior_matrix,
)
from tf_infomax.metrics.encodings import EncodeFn, Encodings, as_encode_fn, encode_dataset
from tf_infomax.metrics.evaluate import (
    EvaluationConfig,
    evaluate_model,
    evaluate_run,
    evaluation_data,
    fixed_binarization,
)
from tf_infomax.metrics.kl import gaussian_kl_to_prior
from tf_infomax.metrics.likelihood import (
    LogLikelihood,
    decoder_log_prob,
    importance_weighted_log_likelihood,
)
from tf_infomax.metrics.metric import EvalContext, Metric
from tf_infomax.metrics.mutual_information import (
    MI_BOUNDS,
    CriticEstimate,
    estimate_mutual_information,
)
from tf_infomax.metrics.probes import ProbeResult, linear_probe, mlp_probe
from tf_infomax.metrics.registry import METRICS, REGISTRY, get_metric

__all__ = [
    "DEFAULT_THRESHOLD",
    "METRICS",
    "MI_BOUNDS",
    "ActiveUnits",
    "AggregatePosteriorTerms",
    "CriticEstimate",
    "EncodeFn",
    "EvalContext",
    "Encodings",
    "EvaluationConfig",
    "LogLikelihood",
    "Metric",
    "ProbeResult",
    "REGISTRY",
    "active_units",
    "aggregate_posterior_terms",
    "as_encode_fn",
    "decoder_log_prob",
    "encode_dataset",
    "estimate_mutual_information",
    "evaluate_model",
    "evaluate_run",
    "evaluation_data",
    "fixed_binarization",
    "get_metric",
    "gaussian_kl_to_prior",
    "importance_weighted_log_likelihood",
    "latent_variances",
    "linear_probe",
    "log_aggregate_posterior",
    "log_posterior_matrix",
    "mlp_probe",
    "most_active_dims",
]
