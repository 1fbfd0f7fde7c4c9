"""Classification probes on frozen latent codes (Section 6.2, Table 7; Section 6.3).

The codes are posterior means E_q[z|x]. A probe is trained on the codes of the training split
and scored on those of the evaluation split; features are standardised with the training
statistics. Two probes:

* ``linear``: multinomial logistic regression ("a network without any hidden layers", 6.3);
* ``mlp``: Table 7's classifier, FC 1000-500-100 ReLU then softmax, trained with Adam and early
  stopping on 10% of the training codes.
"""

from __future__ import annotations

import time
import warnings
from collections.abc import Sequence
from typing import NamedTuple

import numpy as np
from sklearn.exceptions import ConvergenceWarning
from sklearn.linear_model import LogisticRegression
from sklearn.neural_network import MLPClassifier
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler
from threadpoolctl import threadpool_limits

from tf_infomax.metrics.metric import EvalContext, Metric

TABLE7_UNITS = (1000, 500, 100)


class ProbeResult(NamedTuple):
    """Test accuracy of a probe, its training accuracy, and how it was trained."""

    accuracy: float
    train_accuracy: float
    iterations: int
    converged: bool
    time_s: float


def _fit_and_score(
    classifier, train_codes, train_labels, test_codes, test_labels, max_iter, threads
):
    started = time.perf_counter()
    model = make_pipeline(StandardScaler(), classifier)
    with warnings.catch_warnings(record=True) as caught, threadpool_limits(threads):
        warnings.simplefilter("always", ConvergenceWarning)
        model.fit(np.asarray(train_codes), np.asarray(train_labels))
    iterations = int(np.max(getattr(classifier, "n_iter_", 0)))
    converged = not any(issubclass(w.category, ConvergenceWarning) for w in caught)
    return ProbeResult(
        accuracy=float(model.score(test_codes, test_labels)),
        train_accuracy=float(model.score(train_codes, train_labels)),
        iterations=iterations,
        converged=converged and iterations < max_iter,
        time_s=round(time.perf_counter() - started, 3),
    )


def linear_probe(
    train_codes: np.ndarray,
    train_labels: np.ndarray,
    test_codes: np.ndarray,
    test_labels: np.ndarray,
    *,
    max_iter: int = 1000,
    seed: int = 0,
    threads: int | None = 1,
) -> ProbeResult:
    """Accuracy of multinomial logistic regression (L2, C = 1, L-BFGS) on the codes.

    ``threads`` caps BLAS/OpenMP threads while fitting (``None``: no cap). One thread was 7-15x
    faster than two on a busy 2-core machine next to TensorFlow's thread pools.
    """
    classifier = LogisticRegression(max_iter=max_iter, random_state=seed)
    args = (train_codes, train_labels, test_codes, test_labels)
    return _fit_and_score(classifier, *args, max_iter, threads)


def mlp_probe(
    train_codes: np.ndarray,
    train_labels: np.ndarray,
    test_codes: np.ndarray,
    test_labels: np.ndarray,
    *,
    hidden_units: Sequence[int] = TABLE7_UNITS,
    max_epochs: int = 50,
    batch_size: int = 100,
    seed: int = 0,
    threads: int | None = 1,
) -> ProbeResult:
    """Accuracy of Table 7's MLP (ReLU, Adam 1e-3, early stopping after 5 flat epochs)."""
    classifier = MLPClassifier(
        hidden_layer_sizes=tuple(hidden_units),
        activation="relu",
        solver="adam",
        learning_rate_init=1e-3,
        batch_size=batch_size,
        max_iter=max_epochs,
        early_stopping=True,
        validation_fraction=0.1,
        n_iter_no_change=5,
        random_state=seed,
    )
    args = (train_codes, train_labels, test_codes, test_labels)
    return _fit_and_score(classifier, *args, max_epochs, threads)


def _entry(context: EvalContext) -> dict:
    from tf_infomax.metrics.encodings import encode_dataset, expected_examples

    config, codes = context.config, context.codes
    total = expected_examples(context.train_data, config.batch_size, config.train_limit)
    with context.progress(total, "example", "training codes") as progress:
        started = time.perf_counter()
        train_codes = encode_dataset(
            context.encode, context.train_data, config.train_limit, progress=progress
        )
        encoding_time = round(time.perf_counter() - started, 3)
    if train_codes.labels is None:
        return {"value": None, "note": "skipped: the training data has no labels"}
    args = (train_codes.mean, train_codes.labels, codes.mean, codes.labels)
    with context.progress(2, "probe", "linear, mlp") as progress:
        linear = linear_probe(*args, seed=config.seed)
        progress.update(1)
        mlp = mlp_probe(
            *args,
            hidden_units=config.probe_units,
            max_epochs=config.probe_max_epochs,
            seed=config.seed,
        )
        progress.update(1)
    return {
        "value": {"linear": linear.accuracy, "mlp": mlp.accuracy},
        "linear": {**linear._asdict(), "model": "logistic regression (L2, C=1)"},
        "mlp": {
            **mlp._asdict(),
            "hidden_units": list(config.probe_units),
            "max_epochs": config.probe_max_epochs,
        },
        "features": "posterior means, standardised with training statistics",
        "train_split": config.train_split,
        "num_train": train_codes.num_examples,
        "encoding_time_s": encoding_time,
        **context.common,
    }


METRIC = Metric("probe_accuracy", _entry, needs_train_data=True, needs_labels=True)
