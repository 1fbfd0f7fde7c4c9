"""Train one configured model on a named dataset and write a run directory.

A run directory holds ``config.json`` (the :class:`TrainConfig`), ``model.keras`` (weights and
both optimizers' state), ``history.json`` (per-epoch logs, rewritten after every epoch),
``logs/`` (TensorBoard) and, while a run is unfinished, ``backup/`` (BackupAndRestore), so a run
that is cut off resumes where it stopped when started again with the same ``out_dir``.
"""

from __future__ import annotations

import dataclasses
import json
import math
import os
import time
from dataclasses import dataclass, field
from pathlib import Path

import keras
import tensorflow as tf

from tf_infomax import data
from tf_infomax.errors import TrainingDivergedError  # re-exported: its old home
from tf_infomax.models import build_model
from tf_infomax.models.divergence import StopOnDivergence
from tf_infomax.models.infomax_vae import CRITIC_CLIPNORM, VAE_CLIPNORM, InfoMaxVAE
from tf_infomax.optimizers import FusedAdam

CONFIG_FILE, MODEL_FILE, HISTORY_FILE = "config.json", "model.keras", "history.json"
DIVERGED_FILE = "diverged.json"


def write_json(path: Path, value) -> None:
    """Write JSON atomically (beside, fsync, rename); NaN/inf are written as null."""
    text = json.dumps(_finite_or_null(value), indent=1, allow_nan=False)
    tmp = path.with_name(f".{path.name}.tmp")
    with open(tmp, "w") as handle:
        handle.write(text + "\n")
        handle.flush()
        os.fsync(handle.fileno())
    os.replace(tmp, path)


def _finite_or_null(value):
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, dict):
        return {k: _finite_or_null(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_finite_or_null(v) for v in value]
    return value


@dataclass
class TrainConfig:
    """Everything that defines a training run (written to ``config.json``)."""

    model: str = "infomax-vae"
    dataset: str = "fashion_mnist"
    arch: str = "fc"
    arch_options: dict = field(default_factory=dict)
    latent_dim: int = 20
    decoder_layers: int | None = None
    estimator: str = "f-kl"
    beta: float | None = None
    alpha: float | None = None
    infovae_alpha: float = 0.0
    infovae_lambda: float = 1000.0
    critic_units: tuple[int, ...] | None = None
    track_mi: bool = False
    likelihood: str = "bernoulli"
    binarize: bool = False
    epochs: int = 1
    batch_size: int = 100
    limit: int | None = None
    validation_limit: int | None = None
    learning_rate: float = 1e-3
    critic_learning_rate: float = 1e-4
    clipnorm: float | None = VAE_CLIPNORM
    critic_clipnorm: float | None = CRITIC_CLIPNORM
    critic_score_bound: float | None = 20.0
    min_log_var: float | None = -10.0
    diagnostics: bool = False
    seed: int = 0
    data_dir: str | None = None
    extra: dict = field(default_factory=dict)

    @classmethod
    def from_dict(cls, values: dict) -> TrainConfig:
        known = {f.name for f in dataclasses.fields(cls)}
        unknown = sorted(set(values) - known)
        if unknown:
            raise ValueError(f"Unknown training config keys {unknown}; valid keys: {sorted(known)}")
        return cls(**values)

    def to_dict(self) -> dict:
        return dataclasses.asdict(self)


def load_config(run_dir: str | Path) -> TrainConfig:
    """The config a run directory was trained with."""
    path = Path(run_dir) / CONFIG_FILE
    if not path.exists():
        raise FileNotFoundError(
            f"{path} not found: {run_dir} is not a run directory written by `tf-infomax train`."
        )
    return TrainConfig.from_dict(json.loads(path.read_text()))


def load_model(run_dir: str | Path) -> InfoMaxVAE:
    """The trained model of a run directory, with a clear error for missing or corrupt files."""
    path = Path(run_dir) / MODEL_FILE
    if not path.exists():
        raise FileNotFoundError(
            f"{path} not found: the run in {run_dir} has not finished (re-run the same "
            "`tf-infomax train ... --out` command to resume it)."
        )
    try:
        return keras.models.load_model(path)
    except Exception as error:  # keras raises several types for damaged archives
        raise ValueError(
            f"Could not load {path}: the file is damaged or not a tf-infomax model "
            f"({type(error).__name__}: {error}). Re-train or restore it from a backup."
        ) from error


class _HistoryWriter(keras.callbacks.Callback):
    """Rewrites history.json after every epoch, so partial runs keep their logs.

    A non-finite value (a diverged epoch) is written as ``null``, so the file stays JSON.
    """

    def __init__(self, path: Path, previous: dict[str, list[float]]):
        super().__init__()
        self.path, self.history = path, previous

    def on_epoch_end(self, epoch, logs=None):
        for key, value in (logs or {}).items():
            self.history.setdefault(key, []).append(float(value))
        self.history.setdefault("epoch", []).append(epoch + 1)
        write_json(self.path, self.history)


def make_model(config: TrainConfig, image_shape) -> InfoMaxVAE:
    """Build and compile the model a config describes (inside the current strategy scope)."""
    model = build_model(
        config.model,
        image_shape=image_shape,
        latent_dim=config.latent_dim,
        arch=config.arch,
        arch_options=config.arch_options,
        decoder_layers=config.decoder_layers,
        estimator=config.estimator,
        beta=config.beta,
        alpha=config.alpha,
        infovae_alpha=config.infovae_alpha,
        infovae_lambda=config.infovae_lambda,
        critic_units=config.critic_units,
        track_mi=config.track_mi,
        likelihood=config.likelihood,
        seed=config.seed,
        critic_score_bound=config.critic_score_bound,
        min_log_var=config.min_log_var,
        diagnostics=config.diagnostics,
    )
    model.compile(
        optimizer=FusedAdam(config.learning_rate, global_clipnorm=config.clipnorm),
        critic_optimizer=FusedAdam(
            config.critic_learning_rate, global_clipnorm=config.critic_clipnorm
        ),
    )
    return model


def train(
    config: TrainConfig,
    out_dir: str | Path,
    *,
    strategy: tf.distribute.Strategy | None = None,
    verbose: str | int = "auto",
    callbacks: list[keras.callbacks.Callback] | None = None,
    overwrite: bool = False,
) -> tuple[InfoMaxVAE, dict]:
    """Train per ``config`` into ``out_dir``; resume if ``out_dir`` holds an unfinished run.

    A finished run in ``out_dir`` is never overwritten unless ``overwrite`` is set.

    Returns:
        The trained model and the history dict (also in ``out_dir/history.json``).
    """
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    config_path = out / CONFIG_FILE
    finished = (out / MODEL_FILE).exists() and not (out / "backup").exists()
    if finished and overwrite:
        for name in (MODEL_FILE, HISTORY_FILE):
            (out / name).unlink(missing_ok=True)
    elif finished:
        raise FileExistsError(
            f"{out} already holds a finished run; choose another --out or pass --overwrite."
        )
    elif config_path.exists() and load_config(out).to_dict() != config.to_dict():
        raise FileExistsError(
            f"{out} holds an unfinished run with a different config; resume it with the same "
            "options or choose another --out."
        )
    config_path.write_text(json.dumps(config.to_dict(), indent=1))
    keras.utils.set_random_seed(config.seed)

    spec = data.dataset_info(config.dataset)
    data_epoch = data.DataEpoch()  # fit sets it: a resumed run sees each epoch's own batches
    train_ds = data.load(
        config.dataset,
        "train",
        batch_size=config.batch_size,
        seed=config.seed,
        epoch=data_epoch,
        limit=config.limit,
        binarize=config.binarize,
        data_dir=config.data_dir,
    )
    n_train = min(config.limit or spec.num_train or math.inf, spec.num_train or math.inf)
    if n_train is not math.inf and n_train < config.batch_size:
        raise ValueError(
            f"--limit {config.limit} leaves {n_train} training examples, fewer than one batch "
            f"of {config.batch_size}; raise --limit or lower --batch-size."
        )
    validation = None
    if config.validation_limit != 0:
        validation = data.load(
            config.dataset,
            "test",
            batch_size=config.batch_size,
            limit=config.validation_limit,
            binarize=config.binarize,
            drop_remainder=True,
            data_dir=config.data_dir,
            epoch=data_epoch,
        )

    strategy = strategy or tf.distribute.get_strategy()
    with strategy.scope():
        model = make_model(config, spec.image_shape)

    history_path = out / HISTORY_FILE
    previous = json.loads(history_path.read_text()) if (out / "backup").exists() else {}
    if history_path.exists() and not previous:
        history_path.unlink()
    started = time.perf_counter()
    divergence = StopOnDivergence(raise_error=False)  # reported below, with diverged.json
    model.fit(
        train_ds,
        epochs=config.epochs,
        validation_data=validation,
        shuffle=False,  # the pipeline shuffles with the config's seed
        verbose=verbose,
        callbacks=[
            keras.callbacks.BackupAndRestore(str(out / "backup")),
            keras.callbacks.TensorBoard(str(out / "logs")),
            divergence,
            data_epoch,
            _HistoryWriter(history_path, previous),
            *(callbacks or []),
        ],
    )
    if divergence.where is not None:
        epoch, batch = divergence.where
        write_json(out / DIVERGED_FILE, {"epoch": epoch, "batch": batch})
        raise TrainingDivergedError(
            f"Training diverged: the loss became NaN/inf at epoch {epoch}, batch {batch}. "
            f"Nothing was saved as finished; {out / 'backup'} holds the last completed epoch. "
            "Lower --learning-rate or --alpha, or check the data, and re-run."
        )
    history = json.loads(history_path.read_text()) if history_path.exists() else {}
    history.setdefault("wall_time_s", []).append(time.perf_counter() - started)
    write_json(history_path, history)
    model.save(out / MODEL_FILE)
    return model, history
