"""Evaluate a trained model: every metric of Section 6 and the figures, as one JSON dict.

Each metric is recorded with the settings that produced it (split, number of examples,
samples, threshold, bound, seed) and the seconds it took, so numbers from different runs can
be compared honestly. ``evaluate_run`` does the same for a ``tf-infomax train`` run directory
and writes ``DIR/metrics.json`` and ``DIR/figures/``.

Example:
    >>> config = EvaluationConfig(limit=1000, iw_samples=100)
    >>> results = evaluate_run("runs/infomax", config)
    >>> results["active_units"]["value"], results["log_likelihood"]["value"]
"""

from __future__ import annotations

import dataclasses
import json
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import tensorflow as tf

from tf_infomax.metrics.active_units import (
    DEFAULT_THRESHOLD,
    PAPER_THRESHOLD,
    active_units,
    latent_variances,
    most_active_dims,
)
from tf_infomax.metrics.aggregate_posterior import aggregate_posterior_terms
from tf_infomax.metrics.encodings import Encodings, as_encode_fn, encode_dataset, iterate_images
from tf_infomax.metrics.kl import gaussian_kl_to_prior
from tf_infomax.metrics.likelihood import decoder_log_prob, importance_weighted_log_likelihood
from tf_infomax.metrics.mutual_information import estimate_mutual_information
from tf_infomax.metrics.probes import TABLE7_UNITS, linear_probe, mlp_probe
from tf_infomax.metrics.statistics import mean_and_stderr
from tf_infomax.networks.critic import MNIST_CRITIC_UNITS

METRICS = (
    "active_units",
    "kl",
    "mutual_information",
    "mutual_information_aggregate",
    "kl_aggregate_prior",
    "log_likelihood",
    "probe_accuracy",
)
METRICS_FILE, FIGURES_DIR = "metrics.json", "figures"
MAX_TRAVERSAL_DIMS = 10


@dataclass
class EvaluationConfig:
    """Settings of one evaluation (all recorded in ``metrics.json``).

    Attributes:
        split: evaluation split; ``limit`` keeps its first examples (None: all).
        train_split, train_limit: codes for the probes and pairs for the MI critic.
        batch_size: images per batch (memory is bounded by this and ``iw_max_pairs``).
        seed: seed of every random choice of the evaluation.
        threshold: epsilon of eq. 7 (Burda et al.: 0.01; the paper: 0.05, also reported).
        iw_samples: K of the importance-weighted log-likelihood (5000 is the standard; the CPU
            default is smaller); ``iw_limit`` evaluates it on the first examples only (None: the
            whole evaluation set). The defaults take minutes on 2 CPU cores for an FC decoder.
        iw_max_pairs: (sample, image) pairs decoded at once.
        aggregate_samples: z samples per example for the aggregate-posterior terms.
        mi_bound, mi_steps, mi_batch_size, mi_learning_rate, mi_critic_units: post-hoc MI
            critic (trained on training pairs, evaluated on the evaluation split).
        probe_units, probe_max_epochs: Table 7 MLP probe.
        metrics: which metrics to compute (``METRICS``).
        figures: write the figures.
    """

    split: str = "test"
    limit: int | None = None
    train_split: str = "train"
    train_limit: int | None = 10_000
    batch_size: int = 500
    seed: int = 0
    threshold: float = DEFAULT_THRESHOLD
    iw_samples: int = 1000
    iw_limit: int | None = 2000
    iw_max_pairs: int = 10_000
    aggregate_samples: int = 1
    mi_bound: str = "f-kl"
    mi_steps: int = 2000
    mi_batch_size: int = 100
    mi_learning_rate: float = 1e-4
    mi_critic_units: tuple[int, ...] = MNIST_CRITIC_UNITS
    probe_units: tuple[int, ...] = TABLE7_UNITS
    probe_max_epochs: int = 50
    metrics: tuple[str, ...] = METRICS
    figures: bool = True

    def __post_init__(self):
        unknown = sorted(set(self.metrics) - set(METRICS))
        if unknown:
            raise ValueError(f"Unknown metrics {unknown}; choose from {list(METRICS)}.")
        for name in ("limit", "train_limit", "iw_limit"):
            value = getattr(self, name)
            if value is not None and value < 2:
                raise ValueError(f"{name} must be >= 2 examples (or None for all), got {value}.")

    @classmethod
    def tiny(cls, **overrides) -> EvaluationConfig:
        """A seconds-long smoke variant: few examples, samples, steps and epochs."""
        settings = dict(
            limit=200,
            train_limit=300,
            batch_size=100,
            iw_samples=20,
            mi_steps=30,
            mi_critic_units=(32, 16),
            probe_units=(32, 16),
            probe_max_epochs=5,
        )
        return cls(**{**settings, **overrides})

    def to_dict(self) -> dict:
        return dataclasses.asdict(self)


def _timed(fn: Callable[[], dict]) -> dict:
    started = time.perf_counter()
    result = fn()
    result["time_s"] = round(time.perf_counter() - started, 3)
    return result


def _needs_train_data(config: EvaluationConfig) -> bool:
    return bool({"mutual_information", "probe_accuracy"} & set(config.metrics))


def evaluate_model(
    model: Any,
    eval_data: tf.data.Dataset,
    train_data: tf.data.Dataset | None = None,
    config: EvaluationConfig | None = None,
    *,
    figures_dir: str | Path | None = None,
) -> dict:
    """Compute the configured metrics of ``model`` (an ``InfoMaxVAE``) and its figures.

    Args:
        model: has ``encode`` (posterior parameters) and ``decode`` (p(x|z)); the figures also
            use ``sample`` and ``call``.
        eval_data: batches of (images, labels) of ``config.split``, read in order.
        train_data: batches of the training split, for the probes and the MI critic
            (required if those metrics are requested).
        config: evaluation settings (default ``EvaluationConfig()``).
        figures_dir: where to write the figures (none if None or ``config.figures`` is off).

    Returns:
        {metric name: {"value": ..., settings..., "time_s": ...}, ..., "figures": {...}}.
    """
    config = config or EvaluationConfig()
    wanted = set(config.metrics)
    if _needs_train_data(config) and train_data is None:
        raise ValueError("mutual_information and probe_accuracy need train_data.")
    encode = as_encode_fn(model)
    started = time.perf_counter()
    codes = encode_dataset(encode, eval_data, config.limit)
    encoding_time = time.perf_counter() - started
    common = {"split": config.split, "num_examples": codes.num_examples, "seed": config.seed}
    results: dict[str, Any] = {}

    if "active_units" in wanted:
        results["active_units"] = _timed(lambda: _active_units_entry(codes, config, common))
    if "kl" in wanted:
        results["kl"] = _timed(lambda: _kl_entry(codes, common))
    if {"mutual_information_aggregate", "kl_aggregate_prior"} & wanted:
        results.update(_aggregate_entries(codes, config, common))
    if "mutual_information" in wanted:
        results["mutual_information"] = _timed(
            lambda: _critic_entry(encode, train_data, eval_data, config, common)
        )
    if "log_likelihood" in wanted:
        results["log_likelihood"] = _timed(
            lambda: _likelihood_entry(model, encode, eval_data, config)
        )
    if "probe_accuracy" in wanted:
        results["probe_accuracy"] = _timed(
            lambda: _probe_entry(encode, codes, train_data, config, common)
        )
    if figures_dir is not None and config.figures:
        results["figures"] = _timed(
            lambda: _figures_entry(model, codes, eval_data, figures_dir, config)
        )
    results["evaluation"] = {
        "config": config.to_dict(),
        "num_examples": codes.num_examples,
        "latent_dim": codes.latent_dim,
        "encoding_time_s": round(encoding_time, 3),
        "time_s": round(time.perf_counter() - started, 3),
    }
    return results


def _active_units_entry(codes: Encodings, config: EvaluationConfig, common: dict) -> dict:
    au = active_units(codes.mean, config.threshold)
    return {
        "value": au.count,
        "threshold": au.threshold,
        "count_at_paper_threshold": au.count_at(PAPER_THRESHOLD),
        "paper_threshold": PAPER_THRESHOLD,
        "latent_dim": codes.latent_dim,
        "variances": [round(float(v), 6) for v in au.variances],
        "statistic": "unbiased variance over x of the posterior means (eq. 7)",
        **common,
    }


def _kl_entry(codes: Encodings, common: dict) -> dict:
    kl, stderr = mean_and_stderr(gaussian_kl_to_prior(codes.mean, codes.log_var))
    return {
        "value": kl,
        "stderr": stderr,
        "estimator": "analytic KL(q(z|x) || N(0, I)), mean over x",
        **common,
    }


def _aggregate_entries(codes: Encodings, config: EvaluationConfig, common: dict) -> dict:
    started = time.perf_counter()
    terms = aggregate_posterior_terms(
        codes.mean, codes.log_var, num_samples=config.aggregate_samples, seed=config.seed
    )
    shared = {
        "num_samples": terms.num_samples,
        "log_n": round(terms.log_n, 6),
        "kl_posterior_prior_monte_carlo": terms.kl_posterior_prior,
        "time_s": round(time.perf_counter() - started, 3),
        **common,
    }
    return {
        "mutual_information_aggregate": {
            "value": terms.mutual_information,
            "stderr": terms.mutual_information_stderr,
            "estimator": "E[log q(z|x) - log (1/N) sum_n q(z|x_n)], z ~ q(z|x) (eq. 9-10)",
            "upper_bound": "log N",
            **shared,
        },
        "kl_aggregate_prior": {
            "value": terms.kl_aggregate_prior,
            "stderr": terms.kl_aggregate_prior_stderr,
            "estimator": "E[log (1/N) sum_n q(z|x_n) - log p(z)], z ~ q(z|x) (Appendix B)",
            "identity": "kl_posterior_prior = mutual_information_aggregate + kl_aggregate_prior",
            **shared,
        },
    }


def _critic_entry(encode, train_data, eval_data, config: EvaluationConfig, common: dict) -> dict:
    estimate = estimate_mutual_information(
        encode,
        _critic_batches(train_data, config),
        eval_data,
        bound=config.mi_bound,
        steps=config.mi_steps,
        hidden_units=config.mi_critic_units,
        learning_rate=config.mi_learning_rate,
        eval_limit=config.limit,
        seed=config.seed,
    )
    return {
        "value": estimate.mi,
        "bound": estimate.bound,
        "evaluated_with": estimate.evaluated_with,
        "steps": estimate.steps,
        "train_estimate": estimate.train_mi,
        "critic_units": list(config.mi_critic_units),
        "learning_rate": config.mi_learning_rate,
        "batch_size": config.mi_batch_size,
        "train_split": config.train_split,
        "train_limit": config.train_limit,
        "num_eval_pairs": estimate.num_eval_pairs,
        **common,
    }


def _critic_batches(dataset: tf.data.Dataset, config: EvaluationConfig) -> tf.data.Dataset:
    """The first ``train_limit`` training examples in batches of ``mi_batch_size``."""
    examples = dataset.unbatch()
    if config.train_limit is not None:
        examples = examples.take(config.train_limit)
    return examples.batch(config.mi_batch_size, drop_remainder=True)


def _likelihood_entry(model, encode, eval_data, config: EvaluationConfig) -> dict:
    limit = min(filter(None, (config.limit, config.iw_limit)), default=None)
    estimate = importance_weighted_log_likelihood(
        encode,
        decoder_log_prob(model),
        eval_data,
        num_samples=config.iw_samples,
        limit=limit,
        seed=config.seed,
        max_pairs=config.iw_max_pairs,
    )
    return {
        "value": estimate.mean,
        "stderr": estimate.stderr,
        "elbo": estimate.elbo,
        "num_samples": estimate.num_samples,
        "estimator": "importance-weighted log (1/K) sum_k p(x,z_k)/q(z_k|x), nats per image",
        "likelihood": getattr(model, "likelihood_name", None),
        "split": config.split,
        "num_examples": estimate.num_examples,
        "seed": config.seed,
    }


def _probe_entry(encode, codes: Encodings, train_data, config, common: dict) -> dict:
    if codes.labels is None:
        return {"value": None, "note": "the evaluation data has no labels", **common}
    train_codes = encode_dataset(encode, train_data, config.train_limit)
    args = (train_codes.mean, train_codes.labels, codes.mean, codes.labels)
    linear = linear_probe(*args, seed=config.seed)
    mlp = mlp_probe(
        *args, hidden_units=config.probe_units, max_epochs=config.probe_max_epochs, seed=config.seed
    )
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
        **common,
    }


def _figures_entry(model, codes: Encodings, eval_data, out_dir, config) -> dict:
    from tf_infomax.figures import write_figures

    images, _ = next(iterate_images(eval_data, 10))
    variances = latent_variances(codes.mean)
    dims = most_active_dims(variances, 2)
    if len(dims) < 2:
        return {"note": "latent figures need latent_dim >= 2; none written"}
    paths = write_figures(
        model,
        codes.mean,
        codes.log_var,
        codes.labels,
        np.asarray(images),
        out_dir,
        dims=dims,
        traversal_dims=most_active_dims(variances, MAX_TRAVERSAL_DIMS),
        seed=config.seed,
    )
    note = "all latent dimensions" if codes.latent_dim == 2 else "the 2 most active dimensions"
    return {"paths": paths, "latent_dims_shown": dims, "note": f"latent figures show {note}"}


def fixed_binarization(dataset: tf.data.Dataset, seed: int) -> tf.data.Dataset:
    """Binarize (images, labels) batches with noise fixed by (seed, batch index).

    Unlike the training pipeline's dynamic binarization, every pass over the data sees the
    same binary images, so all metrics are computed on one binarized evaluation set.
    """

    def binarize(index, batch):
        images, labels = batch
        uniform = tf.random.stateless_uniform(tf.shape(images), seed=tf.stack([seed, index]))
        return tf.cast(uniform < images, images.dtype), labels

    return dataset.enumerate().map(binarize)


def evaluation_data(
    train_config: Any, split: str, *, batch_size: int, limit: int | None, seed: int = 0
) -> tf.data.Dataset:
    """(images, labels) batches of a run's dataset, in order, for evaluation.

    Every example is kept (no shuffling, no dropped remainder), and images are binarized once
    (``fixed_binarization``) if the run trained on binarized data.

    Args:
        train_config: the run's ``TrainConfig`` (dataset, binarize, data_dir).
        split, batch_size, limit: as ``tf_infomax.data.load``.
        seed: seed of the fixed binarization.
    """
    from tf_infomax import data

    images = data.load(
        train_config.data.dataset,
        split,
        batch_size=batch_size,
        limit=limit,
        shuffle=False,
        drop_remainder=False,
        data_dir=train_config.data.data_dir,
    )
    return fixed_binarization(images, seed) if train_config.data.binarize else images


def evaluate_run(
    run_dir: str | Path,
    config: EvaluationConfig | None = None,
    *,
    write: bool = True,
) -> dict:
    """Evaluate the model of a ``tf-infomax train`` run directory on its dataset.

    Loads ``model.keras`` and ``config.json`` (dataset, binarization, data directory), reads
    the splits with ``evaluation_data``, computes the metrics, and with ``write`` merges them into
    ``run_dir/metrics.json`` (metrics computed now replace earlier values) and writes the
    figures to ``run_dir/figures/``.
    """
    from tf_infomax.training import load_config, load_model

    config = config or EvaluationConfig()
    run_dir = Path(run_dir)
    train_config = load_config(run_dir)
    model = load_model(run_dir)

    def load(split: str, limit: int | None) -> tf.data.Dataset:
        return evaluation_data(
            train_config, split, batch_size=config.batch_size, limit=limit, seed=config.seed
        )

    eval_data = load(config.split, config.limit)
    train_data = load(config.train_split, config.train_limit) if _needs_train_data(config) else None
    results = evaluate_model(
        model,
        eval_data,
        train_data,
        config,
        figures_dir=run_dir / FIGURES_DIR if write else None,
    )
    if "paths" in results.get("figures", {}):
        paths = results["figures"]["paths"]
        results["figures"]["paths"] = {
            k: str(Path(v).relative_to(run_dir)) for k, v in paths.items()
        }
    results["evaluation"].update(
        run_dir=str(run_dir),
        model=train_config.model.method,
        dataset=train_config.data.dataset,
        arch=train_config.model.arch,
        binarize=train_config.data.binarize,
    )
    if write:
        path = run_dir / METRICS_FILE
        previous = json.loads(path.read_text()) if path.exists() else {}
        path.write_text(json.dumps({**previous, **results}, indent=1))
    return results
