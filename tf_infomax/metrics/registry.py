"""The registry of representation metrics (Section 6), in the order they are computed.

A new metric is one module that declares a ``Metric`` and one line here; ``tf-infomax
evaluate --metrics``, ``metrics.json``, study rows and report tables follow from it.
"""

from __future__ import annotations

from tf_infomax.metrics.active_units import METRIC as ACTIVE_UNITS
from tf_infomax.metrics.aggregate_posterior import KL_AGGREGATE_PRIOR, MUTUAL_INFORMATION
from tf_infomax.metrics.kl import METRIC as KL
from tf_infomax.metrics.likelihood import METRIC as LOG_LIKELIHOOD
from tf_infomax.metrics.metric import Metric
from tf_infomax.metrics.mutual_information import METRIC as CRITIC_MUTUAL_INFORMATION
from tf_infomax.metrics.probes import METRIC as PROBE_ACCURACY

REGISTRY: dict[str, Metric] = {
    metric.name: metric
    for metric in (
        ACTIVE_UNITS,
        KL,
        CRITIC_MUTUAL_INFORMATION,
        MUTUAL_INFORMATION,
        KL_AGGREGATE_PRIOR,
        LOG_LIKELIHOOD,
        PROBE_ACCURACY,
    )
}
METRICS = tuple(REGISTRY)


def get_metric(name: str) -> Metric:
    try:
        return REGISTRY[name]
    except KeyError:
        raise ValueError(f"Unknown metric {name!r}; choose from {list(METRICS)}.") from None
