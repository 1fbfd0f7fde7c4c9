"""What a registered metric is: a name, what it needs, and how to compute its entry.

A metric module keeps its pure functions of (encode_fn, data, seed) and declares one (or more)
:class:`Metric` whose ``compute`` turns an :class:`EvalContext` into a ``metrics.json`` entry:
``{"value": ..., settings...}``. ``tf_infomax.metrics.registry`` lists them; evaluation, study
rows and report tables iterate that registry.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any


@dataclass
class EvalContext:
    """Everything a metric may use, built once per evaluation.

    Attributes:
        model: the evaluated model (``encode``, ``decode``; figures also ``sample``).
        encode: x -> (mean, log_var), ``tf_infomax.metrics.as_encode_fn(model)``.
        codes: posterior parameters (and labels) of the evaluation examples.
        eval_data: batches of the evaluation split, in order.
        train_data: batches of the training split (for metrics that need it), or None.
        config: the ``EvaluationConfig``.
        stage: the ``tf_infomax.progress.Stage`` of the metric being computed (its progress
            display and timer), or None for no display.
    """

    model: Any
    encode: Callable
    codes: Any
    eval_data: Any
    train_data: Any
    config: Any
    _cache: dict = field(default_factory=dict)
    stage: Any = None

    @property
    def common(self) -> dict:
        """Settings every entry records."""
        return {
            "split": self.config.split,
            "num_examples": self.codes.num_examples,
            "seed": self.config.seed,
        }

    def progress(self, total: float | None = None, unit: str = "example", what: str | None = None):
        """A ``Progress`` of the current stage's work (silent without a stage); use ``with``."""
        from tf_infomax.progress import QUIET

        stage = self.stage or QUIET.stage("")
        return stage.progress(total, unit, what)

    def cached(self, key: str, compute: Callable[[], Any]) -> Any:
        """``compute()`` once per evaluation (shared by metrics of one computation)."""
        if key not in self._cache:
            self._cache[key] = compute()
        return self._cache[key]


@dataclass(frozen=True)
class Metric:
    """A representation metric of the registry.

    Attributes:
        name: key in ``metrics.json``, in results rows and ``--metrics``.
        compute: EvalContext -> entry dict with a ``value``.
        needs_train_data: reads ``EvalContext.train_data``, its first ``train_limit_option``
            examples (the ``EvaluationConfig`` field that caps them).
        needs_labels: skipped, with a note, when the evaluation data has no labels.
    """

    name: str
    compute: Callable[[EvalContext], dict]
    needs_train_data: bool = False
    needs_labels: bool = False
    train_limit_option: str = "train_limit"

    def entry(self, context: EvalContext) -> dict:
        if self.needs_labels and context.codes.labels is None:
            return {"value": None, "note": "skipped: the evaluation data has no labels"}
        return self.compute(context)
