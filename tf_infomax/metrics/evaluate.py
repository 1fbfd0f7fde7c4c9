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

import contextlib
import dataclasses
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import tensorflow as tf

from tf_infomax.config import option
from tf_infomax.metrics.active_units import DEFAULT_THRESHOLD, latent_variances, most_active_dims
from tf_infomax.metrics.encodings import (
    Encodings,
    as_encode_fn,
    encode_dataset,
    expected_examples,
    iterate_images,
)
from tf_infomax.metrics.metric import EvalContext
from tf_infomax.metrics.probes import TABLE7_UNITS
from tf_infomax.metrics.registry import METRICS, REGISTRY
from tf_infomax.networks.critic import MNIST_CRITIC_UNITS
from tf_infomax.progress import DEFAULT_INTERVAL, MODES, Reporter, Stage
from tf_infomax.projector import DEFAULT_POINTS
from tf_infomax.runs import RunDir

MAX_TRAVERSAL_DIMS = 10
TSNE_POINTS = 2000  # codes in the t-SNE map (its cost grows as N log N)
LIMITS = ("limit", "train_limit", "mi_train_limit", "iw_limit")


def _mi_bounds():
    from tf_infomax.metrics.mutual_information import MI_BOUNDS

    return MI_BOUNDS


@dataclass
class EvaluationConfig:
    """Settings of one evaluation (all recorded in ``metrics.json``).

    Attributes:
        split: evaluation split; ``limit`` keeps its first examples (None: all).
        train_split: split of the probes' codes and of the MI critic's pairs; ``train_limit``
            keeps its first examples for the probes, ``mi_train_limit`` for the critic (None:
            all; a critic trained on 10,000 images overfits them, see
            docs/results/fashion_mnist_convergence_notes.md).
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
            ``mi_critics`` such critics are trained with different seeds and the median one's
            estimate is reported (one fresh critic failed on one encoder in three).
        probe_units, probe_max_epochs: Table 7 MLP probe.
        metrics: which metrics to compute (``METRICS``).
        figures: write the figures; ``tsne_points`` caps the t-SNE map's codes (0: no map).
        projector_points: codes in the TensorBoard projector of ``evaluate_run`` (0: none).
        progress, progress_interval: display of each stage's progress (``tf_infomax.progress``).
    """

    split: str = option("test", "evaluation split")
    limit: int | None = option(None, "evaluate the first N examples (0 or none: all)")
    train_split: str = option("train", "split of the probes' and MI critic's training data")
    train_limit: int | None = option(10_000, "training examples for the probes (0: all)")
    mi_train_limit: int | None = option(
        None, "training examples for the post-hoc MI critic (0 or none: all)"
    )
    batch_size: int = option(500, "images per batch")
    seed: int = option(0, "seed of every random choice of the evaluation")
    threshold: float = option(DEFAULT_THRESHOLD, "AU epsilon (eq. 7)")
    iw_samples: int = option(1000, "K of the importance-weighted log-likelihood (standard 5000)")
    iw_limit: int | None = option(2000, "log-likelihood on the first N examples only (0: all)")
    iw_max_pairs: int = option(10_000, "(sample, image) pairs decoded at once")
    aggregate_samples: int = option(1, "z samples per example for the aggregate-posterior terms")
    mi_bound: str = option("f-kl", "bound of the post-hoc MI critic", choices=_mi_bounds)
    mi_steps: int = option(2000, "post-hoc MI critic steps")
    mi_critics: int = option(
        3, "post-hoc MI critics, each with its own seed; the value is the median critic's"
    )
    mi_batch_size: int = option(100, "post-hoc MI critic batch size")
    mi_learning_rate: float = option(1e-4, "post-hoc MI critic learning rate")
    mi_critic_units: tuple[int, ...] = option(MNIST_CRITIC_UNITS, "post-hoc MI critic widths")
    probe_units: tuple[int, ...] = option(TABLE7_UNITS, "MLP probe widths (Table 7)")
    probe_max_epochs: int = option(50, "max epochs of the MLP probe")
    metrics: tuple[str, ...] = option(METRICS, "metrics to compute", choices=METRICS)
    figures: bool = option(True, "write the figures")
    tsne_points: int = option(TSNE_POINTS, "codes in the t-SNE figure (0: none)")
    projector_points: int = option(
        DEFAULT_POINTS, "codes in the TensorBoard projector, logs/projector (0: none)"
    )
    progress: str = option(
        "auto",
        "progress display: auto (a bar on a terminal, plain lines otherwise), bar, lines, none",
        choices=MODES,
    )
    progress_interval: float = option(DEFAULT_INTERVAL, "seconds between plain progress lines")

    def __post_init__(self):
        unknown = sorted(set(self.metrics) - set(METRICS))
        if unknown:
            raise ValueError(f"Unknown metrics {unknown}; choose from {list(METRICS)}.")
        self.metrics = tuple(self.metrics)
        for name in ("tsne_points", "projector_points"):
            if getattr(self, name) < 0:
                raise ValueError(f"{name} must be >= 0 (0: none), got {getattr(self, name)}.")
        Reporter(self.progress, self.progress_interval)  # checks both
        if self.mi_critics < 1:
            raise ValueError(f"mi_critics must be >= 1, got {self.mi_critics}.")
        for name in LIMITS:
            if getattr(self, name) == 0:  # 0 means all, as on the command line
                setattr(self, name, None)
            value = getattr(self, name)
            if value is not None and value < 2:
                raise ValueError(f"{name} must be >= 2 examples (or None for all), got {value}.")

    @classmethod
    def tiny(cls, **overrides) -> EvaluationConfig:
        """A seconds-long smoke variant: few examples, samples, steps and epochs."""
        settings = dict(
            limit=200,
            train_limit=300,
            mi_train_limit=300,
            batch_size=100,
            iw_samples=20,
            mi_steps=30,
            mi_critics=1,
            mi_critic_units=(32, 16),
            probe_units=(32, 16),
            probe_max_epochs=5,
        )
        return cls(**{**settings, **overrides})

    def to_dict(self) -> dict:
        return dataclasses.asdict(self)


class _Stages:
    """Opens the numbered, timed stages of one evaluation and keeps their wall times."""

    def __init__(self, reporter: Reporter, names: list[str]):
        self.reporter, self.names, self.times = reporter, names, {}

    @contextlib.contextmanager
    def __call__(self, name: str) -> Iterator[Stage]:
        number = self.names.index(name) + 1
        with self.reporter.stage(f"[{number}/{len(self.names)}] {name}") as stage:
            yield stage
        self.times[name] = stage.seconds


def _needs_train_data(config: EvaluationConfig) -> bool:
    return any(REGISTRY[name].needs_train_data for name in config.metrics)


def _train_limit(config: EvaluationConfig) -> int | None:
    """Training examples to read: the most any metric of ``config`` uses (None: all)."""
    metrics = [REGISTRY[name] for name in config.metrics if REGISTRY[name].needs_train_data]
    limits = [getattr(config, m.train_limit_option) for m in metrics]
    return None if None in limits else max(limits, default=None)


def evaluate_model(
    model: Any,
    eval_data: tf.data.Dataset,
    train_data: tf.data.Dataset | None = None,
    config: EvaluationConfig | None = None,
    *,
    figures_dir: str | Path | None = None,
    projector_dir: str | Path | None = None,
    reporter: Reporter | None = None,
) -> dict:
    """Compute the configured metrics of ``model`` (an ``InfoMaxVAE``), its figures and projector.

    Each stage (encoding, every metric, figures, t-SNE, projector) shows its progress and records
    its wall time: ``time_s`` in its entry, and all of them in ``evaluation.stage_times_s``.

    Args:
        model: has ``encode`` (posterior parameters) and ``decode`` (p(x|z)); the figures also
            use ``sample`` and ``call``.
        eval_data: batches of (images, labels) of ``config.split``, read in order.
        train_data: batches of the training split, for the probes and the MI critic
            (required if those metrics are requested).
        config: evaluation settings (default ``EvaluationConfig()``).
        figures_dir: where to write the figures (none if None or ``config.figures`` is off).
        projector_dir: where to write the TensorBoard projector of the first
            ``config.projector_points`` codes (none if None or 0).
        reporter: the progress display (default: per ``config.progress``).

    Returns:
        {metric name: {"value": ..., settings..., "time_s": ...}, ..., "figures": {...},
        "projector": {...}, "evaluation": {...}}.
    """
    config = config or EvaluationConfig()
    if _needs_train_data(config) and train_data is None:
        needing = [n for n in config.metrics if REGISTRY[n].needs_train_data]
        raise ValueError(f"{', '.join(needing)} need train_data.")
    reporter = reporter or Reporter(config.progress, config.progress_interval)
    draw = figures_dir is not None and config.figures
    project = projector_dir is not None and config.projector_points > 0
    names = ["encoding", *config.metrics]
    names += ["figures", "tsne"] if draw else []
    names += ["projector"] if project else []
    stages = _Stages(reporter, names)
    encode = as_encode_fn(model)
    started = time.perf_counter()
    total = expected_examples(eval_data, config.batch_size, config.limit)
    with stages("encoding") as stage, stage.progress(total) as progress:
        codes = encode_dataset(encode, eval_data, config.limit, progress=progress)
    context = EvalContext(model, encode, codes, eval_data, train_data, config)
    results: dict[str, Any] = {}
    for name in config.metrics:
        with stages(name) as context.stage:
            results[name] = REGISTRY[name].entry(context)
        results[name]["time_s"] = stages.times[name]
    if draw:
        with stages("figures"):
            figures = _figures_entry(model, codes, eval_data, figures_dir, config)
        figures["time_s"] = stages.times["figures"]
        with stages("tsne"):
            figures["tsne"] = _tsne_entry(codes, figures_dir, config)
        figures["tsne"]["time_s"] = stages.times["tsne"]
        if "path" in figures["tsne"]:
            figures.setdefault("paths", {})["tsne"] = figures["tsne"].pop("path")
        results["figures"] = figures
    if project:
        with stages("projector"):
            results["projector"] = _projector_entry(codes, eval_data, projector_dir, config)
        results["projector"]["time_s"] = stages.times["projector"]
    results["evaluation"] = {
        "config": config.to_dict(),
        "num_examples": codes.num_examples,
        "latent_dim": codes.latent_dim,
        "encoding_time_s": stages.times["encoding"],
        "stage_times_s": stages.times,
        "time_s": round(time.perf_counter() - started, 3),
    }
    return results


def _tsne_entry(codes: Encodings, out_dir, config: EvaluationConfig) -> dict:
    from tf_infomax.figures import tsne_figure

    if codes.labels is None:
        return {"note": "skipped: the evaluation data has no labels"}
    if not config.tsne_points:
        return {"note": "skipped: tsne_points is 0"}
    if min(config.tsne_points, codes.num_examples) < 4:
        return {"note": "skipped: t-SNE needs at least 4 codes"}
    return tsne_figure(
        codes.mean,
        codes.labels,
        Path(out_dir) / "tsne.png",
        max_points=config.tsne_points,
        seed=config.seed,
    )


def _projector_entry(codes: Encodings, eval_data, out_dir, config: EvaluationConfig) -> dict:
    from tf_infomax.projector import write_projector

    count = min(config.projector_points, codes.num_examples)
    images = np.concatenate([np.asarray(x) for x, _ in iterate_images(eval_data, count)])
    return write_projector(
        out_dir,
        codes.mean[:count],
        images,
        None if codes.labels is None else codes.labels[:count],
        description=f"posterior means of the first {count} examples of the {config.split} "
        "split (tf-infomax evaluate)",
    )


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
    train_config: Any,
    split: str,
    *,
    batch_size: int,
    limit: int | None,
    seed: int = 0,
    dataset: str | None = None,
) -> tf.data.Dataset:
    """(images, labels) batches of a run's dataset, in order, for evaluation.

    Every example is kept (no shuffling, no dropped remainder), and images are binarized once
    (``fixed_binarization``) if the run trained on binarized data. With a fractional
    ``validation_split`` (a held-out share), ``"validation"`` is that held-out part and
    ``"train"`` the rest, as in training (:func:`resolve_split`).

    Args:
        train_config: the run's ``TrainConfig`` (dataset, binarize, data_dir, source options).
        split, batch_size, limit: as ``tf_infomax.data.load``.
        seed: seed of the fixed binarization.
        dataset: read this source instead of the config's (``data.json``'s absolute path).
    """
    from tf_infomax import data

    images = data.load(
        dataset or train_config.data.dataset,
        **resolve_split(train_config, split, dataset),
        batch_size=batch_size,
        limit=limit,
        shuffle=False,
        drop_remainder=False,
        **train_config.data.source_options(),
    )
    return fixed_binarization(images, seed) if train_config.data.binarize else images


def resolve_split(train_config: Any, split: str, dataset: str | None = None) -> dict:
    """``data.load`` arguments of an evaluation split of a run.

    With a held-out fraction, ``validation`` (or the fraction itself, e.g. ``"0.1"``) is the
    held-out part and the run's training split the rest; ``test`` on a source that has none
    also means the held-out part.
    """
    from tf_infomax import data
    from tf_infomax.training import run_splits

    if data.holdout_fraction(train_config.data.validation_split) is None:
        return {"split": split}
    parts = run_splits(train_config)
    held = ("validation", train_config.data.validation_split)  # the fraction names it too
    if split in held or (split == "test" and not _has_split(train_config, "test", dataset)):
        return parts["validation"]
    if split == train_config.data.train_split:
        return parts["train"]
    return {"split": split}


def _has_split(train_config: Any, split: str, dataset: str | None) -> bool:
    from tf_infomax import data

    spec = data.dataset_info(
        dataset or train_config.data.dataset, **train_config.data.source_options()
    )
    return split in spec.splits


def _warn_if_data_changed(record: dict | None, train_config: Any) -> str | None:
    from tf_infomax import data

    options = data.SourceOptions(**train_config.data.source_options())
    return data.warn_if_changed(record, options)


def evaluate_run(
    run_dir: str | Path,
    config: EvaluationConfig | None = None,
    *,
    write: bool = True,
    reporter: Reporter | None = None,
) -> dict:
    """Evaluate the model of a ``tf-infomax train`` run directory on its dataset.

    Loads ``model.keras`` and ``config.json`` (dataset, binarization, data directory), reads
    the splits with ``evaluation_data``, computes the metrics, and with ``write`` merges them into
    ``run_dir/metrics.json`` (metrics computed now replace earlier values) and writes the
    figures to ``run_dir/figures/`` and the TensorBoard projector to ``run_dir/logs/projector/``.
    """
    config = config or EvaluationConfig()
    started = time.perf_counter()
    run = RunDir(run_dir)
    train_config = run.config()
    model = run.model()
    record = run.data_record()
    dataset = record["dataset"] if record else None  # its absolute path
    changed = _warn_if_data_changed(record, train_config)
    if resolve_split(train_config, config.split, dataset).get("holdout") and config.split != (
        train_config.data.train_split
    ):
        config = dataclasses.replace(config, split="validation")  # what is really evaluated

    def load(split: str, limit: int | None) -> tf.data.Dataset:
        return evaluation_data(
            train_config,
            split,
            batch_size=config.batch_size,
            limit=limit,
            seed=config.seed,
            dataset=dataset,
        )

    eval_data = load(config.split, config.limit)
    needed = _needs_train_data(config)
    train_data = load(config.train_split, _train_limit(config)) if needed else None
    load_time = round(time.perf_counter() - started, 3)
    results = evaluate_model(
        model,
        eval_data,
        train_data,
        config,
        figures_dir=run.figures_dir if write else None,
        projector_dir=run.projector_dir if write else None,
        reporter=reporter,
    )
    if "paths" in results.get("figures", {}):
        paths = results["figures"]["paths"]
        results["figures"]["paths"] = {
            k: str(Path(v).relative_to(run.path)) for k, v in paths.items()
        }
    if "projector" in results:
        results["projector"]["dir"] = str(run.projector_dir.relative_to(run.path))
    results["evaluation"]["load_time_s"] = load_time
    results["evaluation"].update(
        run_dir=str(run.path),
        model=train_config.model.method,
        dataset=train_config.data.dataset,
        arch=train_config.model.arch,
        binarize=train_config.data.binarize,
    )
    if record:
        results["evaluation"]["data"] = {
            "dataset": record["dataset"],
            "fingerprint": record.get("fingerprint"),
            **({"warning": changed} if changed else {}),
        }
    if write:
        run.write_metrics(results)
    return results
