"""Train one configured model on a named dataset into a run directory (``tf_infomax.runs``).

A run that is cut off (``kill -9`` at any moment) resumes from its last finished epoch when
started again with the same ``out_dir``: Keras ``BackupAndRestore`` keeps the weights and both
optimizers' state, ``history.json`` is cut back to the epochs the backup holds, and the data
order of every epoch is a function of (seed, epoch), so a resumed run ends with the same
history and weights as an uninterrupted one. Kills inside an epoch lose that epoch's steps.
"""

from __future__ import annotations

import json
import math
import os
import time
import warnings
from pathlib import Path

import keras
import tensorflow as tf

from tf_infomax import data, precision
from tf_infomax.config import (
    AUTO,
    CRITIC_CLIPNORM,
    VAE_CLIPNORM,
    DataConfig,
    ModelConfig,
    OptimizationConfig,
    TrainConfig,
)
from tf_infomax.distributed import make_strategy, worker_role
from tf_infomax.distributed.join import agree_to_start, share_run
from tf_infomax.distributed.strategy import describe
from tf_infomax.distributed.workers import remove_scratch
from tf_infomax.errors import TrainingDivergedError  # re-exported: its old home
from tf_infomax.models import build_model
from tf_infomax.models.divergence import StopOnDivergence, non_finite_loss
from tf_infomax.models.infomax_vae import InfoMaxVAE, uses_ema
from tf_infomax.models.methods import (
    clipnorm_by_default,
    ema_by_default,
    marginal_samples_by_default,
    method_weights,
    mi_clipnorm_by_default,
    min_log_var_by_default,
)
from tf_infomax.models.validation import check_batch_size
from tf_infomax.optimizers import FusedAdam
from tf_infomax.projector import write_run_projector
from tf_infomax.runs import (
    CONFIG_FILE,
    DIVERGED_FILE,
    HISTORY_FILE,
    MODEL_FILE,
    RunDir,
    write_json,
)
from tf_infomax.summaries import tensorboard_callbacks

__all__ = [
    "CONFIG_FILE",
    "CRITIC_CLIPNORM",
    "DIVERGED_FILE",
    "HISTORY_FILE",
    "MODEL_FILE",
    "VAE_CLIPNORM",
    "DataConfig",
    "ModelConfig",
    "OptimizationConfig",
    "TrainConfig",
    "TrainingDivergedError",
    "load_config",
    "load_model",
    "check_config",
    "check_out_dir",
    "check_replicas",
    "make_model",
    "train",
    "write_json",
]


def load_config(run_dir: str | Path) -> TrainConfig:
    """The config a run directory was trained with (``RunDir(run_dir).config()``)."""
    return RunDir(run_dir).config()


def load_model(run_dir: str | Path) -> InfoMaxVAE:
    """The trained model of a run directory (``RunDir(run_dir).model()``)."""
    return RunDir(run_dir).model()


# What --keep-best and --early-stopping-patience select on: the validation negative ELBO
# (eq. 1; for InfoMax-VAE, val_loss also holds -alpha * MI and the KL weight beta).
MONITOR = "val_neg_elbo"


class _HistoryWriter(keras.callbacks.Callback):
    """Rewrites history.json after every epoch, so partial runs keep their logs.

    ``wall_time_s`` holds one entry per process that trained the run (its share, updated
    every epoch); ``wall_time_total_s`` their sum. Runs before ``BackupAndRestore`` in the
    callback list, so a kill between the two leaves history ahead of the backup, which
    ``train`` cuts back on resume.
    """

    def __init__(self, run: RunDir, previous: dict, distribution: dict | None = None):
        super().__init__()
        self.run, self.history = run, previous
        self.started = time.perf_counter()
        self.history.setdefault("wall_time_s", []).append(0.0)
        if distribution is not None:  # the strategy of this process's part of the run
            self.history["distribution"] = distribution

    def on_epoch_end(self, epoch, logs=None):
        if non_finite_loss(logs):
            return  # a diverged epoch is not a finished one
        for key, value in (logs or {}).items():
            self.history.setdefault(key, []).append(float(value))
        self.history.setdefault("epoch", []).append(epoch + 1)
        self.record_time()

    def record_time(self):
        self.history["wall_time_s"][-1] = round(time.perf_counter() - self.started, 3)
        self.history["wall_time_total_s"] = round(sum(self.history["wall_time_s"]), 3)
        self.run.write_history(self.history)


class _Backup(keras.callbacks.BackupAndRestore):
    """``BackupAndRestore`` that never backs up a diverged epoch's (NaN) weights."""

    def on_epoch_end(self, epoch, logs=None):
        if not non_finite_loss(logs):
            super().on_epoch_end(epoch, logs)


def _monitored(history: dict) -> list[float]:
    """The per-epoch validation -ELBO of a history, inf for a diverged (null) epoch."""
    return [math.inf if v is None else v for v in history.get(MONITOR, [])]


def _best_epoch(history: dict) -> int | None:
    """The 1-based epoch of the lowest validation -ELBO (the first, on ties), or None."""
    losses = _monitored(history)
    return 1 + losses.index(min(losses)) if losses else None


class _EarlyStopping(keras.callbacks.EarlyStopping):
    """Keras' EarlyStopping on the validation -ELBO; on resume it continues its count."""

    def __init__(self, patience: int, history: dict):
        super().__init__(monitor=MONITOR, patience=patience, mode="min")
        self.previous = _monitored(history)

    def on_train_begin(self, logs=None):
        super().on_train_begin(logs)
        if self.previous:
            best = min(self.previous)
            self.best, self.wait = best, len(self.previous) - 1 - self.previous.index(best)


class _BestCheckpoint(keras.callbacks.ModelCheckpoint):
    """ModelCheckpoint of the weights validation scored: the moving average under --use-ema.

    ``swap`` (Keras' ``SwapEMAWeights``, which also scores validation on the average) puts the
    average in for the save and takes it out again, so the backup and training go on from
    the optimizer's own weights.
    """

    def __init__(self, *args, swap: keras.callbacks.SwapEMAWeights | None = None, **kwargs):
        super().__init__(*args, **kwargs)
        self.swap = swap

    def on_epoch_end(self, epoch, logs=None):
        if self.swap is None:
            return super().on_epoch_end(epoch, logs)
        self.swap._swap_variables()
        try:
            super().on_epoch_end(epoch, logs)
        finally:
            self.swap._swap_variables()


def _selection_callbacks(
    run: RunDir, opt: OptimizationConfig, history: dict, ema: bool = False
) -> list:
    """Score validation on the moving average (``ema``: --use-ema; Keras' SwapEMAWeights), keep
    the best epoch's weights (ModelCheckpoint) and stop early (EarlyStopping)."""
    callbacks = []
    swap = keras.callbacks.SwapEMAWeights(swap_on_epoch=False) if ema else None
    if swap is not None:
        callbacks.append(swap)
    if opt.keep_best:
        losses = _monitored(history)
        callbacks.append(
            _BestCheckpoint(
                str(run.best_weights_path),
                swap=swap,
                monitor=MONITOR,
                mode="min",
                save_best_only=True,
                save_weights_only=True,
                initial_value_threshold=min(losses) if losses else None,
            )
        )
    if opt.early_stopping_patience:
        callbacks.append(_EarlyStopping(opt.early_stopping_patience, history))
    return callbacks


def make_model(config: TrainConfig, image_shape, steps_per_epoch: int | None = None):
    """Build and compile the model a config describes (inside the current strategy scope).

    ``steps_per_epoch`` is needed by the cosine schedule (decay over all training steps).
    """
    config = with_defaults_resolved(config)
    policy = config.distribution.dtype_policy
    with precision.dtype_policy(policy):
        model = build_model(config.model, image_shape=image_shape, seed=config.seed)
    opt = config.optimization

    def rate(initial: float):
        if opt.lr_schedule == "constant":
            return initial
        if not steps_per_epoch:
            raise ValueError("--lr-schedule cosine needs the number of steps per epoch.")
        return keras.optimizers.schedules.CosineDecay(initial, opt.epochs * steps_per_epoch)

    model.compile(
        optimizer=precision.loss_scaled(
            FusedAdam(
                rate(opt.learning_rate),
                global_clipnorm=opt.clipnorm,
                use_ema=opt.use_ema,
                ema_momentum=opt.ema_momentum,
            ),
            policy,
        ),
        critic_optimizer=precision.loss_scaled(
            FusedAdam(rate(opt.critic_learning_rate), global_clipnorm=opt.critic_clipnorm),
            policy,
        ),
        mi_clipnorm=opt.mi_clipnorm,
    )
    return model


def check_config(config: TrainConfig) -> None:
    """Refuse option values that cannot train, naming the flag and the fix."""
    config = with_defaults_resolved(config)
    opt, data_config = config.optimization, config.data
    positive = {
        "--epochs": opt.epochs,
        "--batch-size": opt.batch_size,
        "--latent-dim": config.model.latent_dim,
        "--marginal-samples": config.model.marginal_samples,
        "--limit": data_config.limit,
        "--learning-rate": opt.learning_rate,
        "--critic-learning-rate": opt.critic_learning_rate,
        "--clipnorm": opt.clipnorm,
        "--critic-clipnorm": opt.critic_clipnorm,
        "--mi-clipnorm": opt.mi_clipnorm,
    }
    for flag, value in positive.items():
        if value is not None and not value > 0:
            raise ValueError(f"{flag} must be > 0, got {value}.")
    if data_config.validation_limit is not None and data_config.validation_limit < 0:
        raise ValueError(
            f"--validation-limit must be >= 0 (0 disables validation), got "
            f"{data_config.validation_limit}."
        )
    if data_config.validation_limit == 0 and (opt.keep_best or opt.early_stopping_patience):
        raise ValueError(
            "--keep-best and --early-stopping-patience select epochs by the validation -ELBO: they "
            "need validation (drop --validation-limit 0)."
        )
    board = config.tensorboard
    if board.tensorboard_every < 1:
        raise ValueError(f"--tensorboard-every must be >= 1 epoch, got {board.tensorboard_every}.")
    if board.tensorboard_examples < 2:
        raise ValueError(
            f"--tensorboard-examples must be >= 2 (the critic's marginal pairs need two), got "
            f"{board.tensorboard_examples}."
        )
    if board.projector_points < 0:
        raise ValueError(
            f"--projector-points must be >= 0 (0: no projector), got {board.projector_points}."
        )
    if opt.early_stopping_patience is not None and opt.early_stopping_patience < 1:
        raise ValueError(
            f"--early-stopping-patience must be >= 1, got {opt.early_stopping_patience}."
        )
    if not 0 < opt.ema_momentum < 1:
        raise ValueError(f"--ema-momentum must be in (0, 1), got {opt.ema_momentum}.")
    if config.distribution.dtype_policy == "mixed_float16" and config.model.diagnostics:
        raise ValueError(
            "--diagnostics reads gradients that float16 loss scaling scales: use --dtype-policy "
            "mixed_bfloat16 (no loss scaling), or drop it."
        )
    fraction = data.holdout_fraction(data_config.validation_split)  # checks it
    spec = data.dataset_info(data_config.dataset, **data_config.source_options())
    available = spec.num_train if data_config.train_split == "train" else None
    held = None
    if fraction is not None and available:
        held = data.Holdout(fraction, config.seed, held=True).size(available)
        available -= held
    n_train = min(data_config.limit or math.inf, available or math.inf)
    if n_train is not math.inf and n_train < opt.batch_size:
        cut = f"--limit {data_config.limit} leaves" if data_config.limit else f"{spec.name} has"
        held_note = f" ({held} held out for validation)" if held else ""
        raise ValueError(
            f"{cut} {n_train} training images{held_note}, fewer than one batch of "
            f"{opt.batch_size}; lower --batch-size (e.g. --batch-size {max(n_train // 4, 2)})"
            + (" or raise --limit." if data_config.limit else " or add images.")
        )
    validating = data_config.validation_limit != 0
    if (
        held is not None
        and validating
        and min(held, data_config.validation_limit or held) < (opt.batch_size)
    ):
        raise ValueError(
            f"--validation-split {data_config.validation_split} holds out {held} images, fewer "
            f"than one validation batch of {opt.batch_size}; raise --validation-split, lower "
            "--batch-size, or pass --validation-limit 0 to train without validation."
        )


def run_splits(config: TrainConfig) -> dict[str, dict]:
    """``data.load`` arguments (split, holdout) of a run's ``train`` and ``validation`` data.

    A fractional ``validation_split`` (``0.1``) holds that share of the training split out,
    chosen by the run's seed: validation reads it, training the rest.
    """
    data_config = config.data
    fraction = data.holdout_fraction(data_config.validation_split)
    if fraction is None:
        return {
            "train": {"split": data_config.train_split},
            "validation": {"split": data_config.validation_split},
        }
    return {
        part: {
            "split": data_config.train_split,
            "holdout": data.Holdout(fraction, config.seed, held=part == "validation"),
        }
        for part in ("train", "validation")
    }


def _computation_differences(run: RunDir, config: TrainConfig, replicas: int) -> dict:
    """Option -> (stored, new) where ``config`` computes other than the unfinished run in ``run``.

    ``marginal_scope`` is newer than some run directories (their config.json lacks it, read as
    its legacy value ``replica``): on one replica both scopes pair the same examples, so such
    a run resumes under today's default.
    """
    stored, new = run.config().computation(), config.computation()
    written = json.loads((run / CONFIG_FILE).read_text())
    if replicas == 1 and "marginal_scope" not in written:
        stored.pop("marginal_scope", None)
        new.pop("marginal_scope", None)
    return {
        key: (stored.get(key), new.get(key))
        for key in sorted(set(stored) | set(new))
        if stored.get(key) != new.get(key)
    }


def _shown(value) -> str:
    return "none" if value is None else json.dumps(value)


def check_out_dir(run: RunDir, config: TrainConfig, overwrite: bool, replicas: int = 1) -> bool:
    """Check that ``run`` may receive this training; returns whether it resumes one.

    Writes nothing: a refused command leaves ``--out`` as it was.
    """
    foreign = run.foreign_entries()
    if foreign and not run.is_run:
        shown = ", ".join(foreign[:5]) + (", ..." if len(foreign) > 5 else "")
        raise FileExistsError(
            f"{run.path} is not empty ({shown}) and holds no tf-infomax run; choose an empty "
            "or new --out."
        )
    if not run.is_run and any((run / name).exists() for name in (HISTORY_FILE, MODEL_FILE)):
        raise FileExistsError(
            f"{run.path} holds files named like a run's but no {CONFIG_FILE}; they were not "
            "written by tf-infomax train and will not be replaced: choose another --out."
        )
    if not run.is_run or overwrite:
        return False
    state = _state(run)
    if state == "finished":
        raise FileExistsError(
            f"{run.path} already holds a finished run; choose another --out or pass --overwrite."
        )
    if state == "diverged":
        raise FileExistsError(
            f"{run.path} holds a run that diverged at epoch {run.diverged['epoch']}; pass "
            "--overwrite to start it again (with a lower --learning-rate or --alpha)."
        )
    differences = _computation_differences(run, config, replicas)
    if differences:
        shown = "; ".join(
            f"{key}: {_shown(old)} in the run, {_shown(new)} now"
            for key, (old, new) in differences.items()
        )
        raise FileExistsError(
            f"{run.path} holds an unfinished run with a different config ({shown}); resume it "
            "with the run's options (e.g. --set KEY=VALUE with the run's value; a run started "
            "before a default changed needs the old value: --clipnorm none --min-log-var none, "
            "and for f-KL --no-use-ema, --marginal-samples 1, --mi-clipnorm none), pass "
            "--overwrite to replace it, or choose another --out."
        )
    return run.backup_dir.exists()


def _start(run: RunDir, config: TrainConfig, overwrite: bool) -> None:
    """Clear a replaced run (saying what went) and write the config."""
    if overwrite and run.is_run:
        state = _state(run)
        removed = run.clear()
        print(f"--overwrite: removed the {state} run in {run.path} ({', '.join(removed)})")
    try:
        run.path.mkdir(parents=True, exist_ok=True)
        run.write_config(config)
    except OSError as error:
        raise OSError(f"cannot write the run directory {run.path}: {error.strerror}.") from None


def _state(run: RunDir) -> str:
    if run.diverged_path.exists():
        return "diverged"
    return "finished" if run.is_finished else "unfinished"


def _backup_epoch(run: RunDir) -> int:
    """The number of finished epochs the run's backup holds (0 without one)."""
    metadata = run.backup_dir / "training_metadata.json"
    return int(json.loads(metadata.read_text())["epoch"]) if metadata.exists() else 0


def _resumed_history(run: RunDir) -> dict:
    """history.json cut back to the epochs the backup holds (a kill may leave it ahead)."""
    history = run.history()
    metadata = run.backup_dir / "training_metadata.json"
    if not metadata.exists():
        return {} if not run.model_path.exists() else history
    done = _backup_epoch(run)
    for key, values in history.items():
        if isinstance(values, list) and key != "wall_time_s":
            history[key] = values[:done]
    return history


def _data_record(config: TrainConfig, spec: data.DatasetSpec) -> dict:
    """What ``data.json`` keeps of a ``dir:``/``npz:``/``tfds:`` source, with the splits used."""
    record = data.open_source(
        config.data.dataset, data.SourceOptions(**config.data.source_options())
    ).record
    splits = run_splits(config)
    used = {}
    for part, arguments in splits.items():
        holdout = arguments.get("holdout")
        used[part] = {"split": arguments["split"]}
        if holdout is not None:
            used[part].update(
                holdout_fraction=holdout.fraction,
                holdout_seed=holdout.seed,
                held_out=holdout.held,
                num_images=holdout.size(spec.num_train),
            )
    return {**record, "splits_used": used, "options": config.data.source_options()}


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

    A finished run in ``out_dir`` is never overwritten unless ``overwrite`` is set, which
    replaces a finished, unfinished or diverged run (files a run writes only).

    ``strategy`` (default: the one ``config.distribution`` names, created here before any
    other TensorFlow op) replicates the model; ``config.optimization.batch_size`` is the global
    batch, split evenly across its replicas. Under ``MultiWorkerMirroredStrategy`` every worker
    calls ``train`` with the same config and ``out_dir``; only the chief writes ``out_dir``, the
    others train into a scratch folder they remove (``tf_infomax.distributed.join``).

    Returns:
        The trained model and the history dict (also in ``out_dir/history.json``).
    """
    config = with_defaults_resolved(config)
    check_config(config)
    if strategy is None:
        strategy = make_strategy(config.distribution.strategy, config.distribution.devices)
    role = worker_role(strategy)
    check_replicas(config, strategy.num_replicas_in_sync)
    run = RunDir(out_dir)
    if role.task_type is None:
        resume = check_out_dir(run, config, overwrite, strategy.num_replicas_in_sync)
    else:  # multi-worker: all agree before the first collective of building the model
        resume = agree_to_start(
            strategy,
            role,
            run,
            config,
            lambda r: check_out_dir(r, config, overwrite, strategy.num_replicas_in_sync),
        )
    keras.utils.set_random_seed(config.seed)
    data_config, opt = config.data, config.optimization
    source = data_config.source_options()
    spec = data.dataset_info(data_config.dataset, **source)
    splits = run_splits(config)
    data_epoch = data.DataEpoch()  # fit sets it: a resumed run sees each epoch's own batches
    # Images only: under MultiWorkerMirroredStrategy, Keras' first-batch build cannot reduce
    # an (images, labels) tuple (keras-team/keras#20329); evaluation loads its own labels.
    train_ds = data.load(
        data_config.dataset,
        **splits["train"],
        batch_size=opt.batch_size,
        seed=config.seed,
        epoch=data_epoch,
        limit=data_config.limit,
        binarize=data_config.binarize,
        **source,
        include_labels=False,
    )
    validation = None
    if data_config.validation_limit != 0:
        validation = data.load(
            data_config.dataset,
            **splits["validation"],
            batch_size=opt.batch_size,
            limit=data_config.validation_limit,
            binarize=data_config.binarize,
            shuffle=False,
            drop_remainder=True,
            epoch=data_epoch,
            **source,
            include_labels=False,
        )
    steps = int(train_ds.cardinality())

    with strategy.scope():
        model = make_model(config, spec.image_shape, steps if steps > 0 else None)
    replica_batch = opt.batch_size // strategy.num_replicas_in_sync
    check_batch_size(replica_batch, needs_pairs=model.critic is not None)
    record = _data_record(config, spec) if data.parse_source(data_config.dataset) else None
    if resume and record and (run.data_record() or {}).get("fingerprint") != record["fingerprint"]:
        warnings.warn(
            f"resuming {run.path} on {data_config.dataset}, whose files changed since the run "
            "started: the remaining epochs train on the files as they are now.",
            stacklevel=2,
        )

    def start(r: RunDir) -> None:  # every check passed: the first write
        _start(r, config, overwrite)
        if record:
            r.write_data(record)

    if role.task_type is None:
        start(run)
    else:  # the chief writes, the others train into copies of its files
        run, resume = share_run(
            strategy,
            role,
            run,
            resume,
            check=lambda r: check_out_dir(r, config, False, strategy.num_replicas_in_sync),
            start=start,
            resume_epoch=_backup_epoch,
        )
    try:
        model, history = _fit(
            model,
            run,
            config,
            strategy,
            resume,
            (train_ds, validation, data_epoch),
            verbose=verbose,
            callbacks=callbacks,
        )
        _save_worker_weights(model, role)
        if role.is_chief:
            run.save_model(model)
    finally:
        if not role.is_chief:
            remove_scratch(run.path)
    return model, history


# Options whose "auto" (``use_ema``: None) is a method-dependent default:
# option -> (flag, what "auto" means, integers only).
_AUTO_DEFAULTS = {
    "clipnorm": ("--clipnorm", clipnorm_by_default, False),
    "mi_clipnorm": ("--mi-clipnorm", mi_clipnorm_by_default, False),
    "marginal_samples": ("--marginal-samples", marginal_samples_by_default, True),
    "min_log_var": ("--min-log-var", min_log_var_by_default, False),
}


def with_defaults_resolved(config: TrainConfig) -> TrainConfig:
    """``config`` with the method-dependent defaults, ``use_ema`` None and ``clipnorm``,
    ``mi_clipnorm``, ``marginal_samples`` and ``min_log_var`` auto, replaced by what they mean
    for this model (``models.methods.ema_by_default``, ``clipnorm_by_default``,
    ``mi_clipnorm_by_default``, ``marginal_samples_by_default``, ``min_log_var_by_default``),
    so that config.json records what ran and a resume compares the same values."""
    flat = config.flat()
    for key, (flag, _, integer) in _AUTO_DEFAULTS.items():
        if isinstance(flat[key], str) and flat[key] != AUTO:
            kind = "an integer" if integer else "a number, none"
            raise ValueError(f"{flag} must be {kind} or {AUTO}, got {flat[key]!r}.")
    autos = [key for key in _AUTO_DEFAULTS if flat[key] == AUTO]
    if flat["use_ema"] is not None and not autos:
        return config
    m = config.model
    weights = method_weights(
        m.method,
        beta=m.beta,
        alpha=m.alpha,
        infovae_alpha=m.infovae_alpha,
        infovae_lambda=m.infovae_lambda,
    )
    changes = {key: _AUTO_DEFAULTS[key][1](weights.alpha, m.estimator) for key in autos}
    if flat["use_ema"] is None:
        changes["use_ema"] = ema_by_default(weights.alpha, m.estimator)
    return config.replace(**changes)


def check_replicas(config: TrainConfig, replicas: int) -> None:
    """The global batch must split evenly across the replicas (each gets batch / replicas)."""
    batch = config.optimization.batch_size
    if batch % replicas:
        raise ValueError(
            f"--batch-size {batch} is the global batch and must split evenly across the "
            f"{replicas} replicas of the strategy; use a multiple of {replicas}."
        )


def _fit(model, run, config, strategy, resume, pipelines, *, verbose, callbacks):
    """``model.fit`` with the run's callbacks; returns the model and the history."""
    train_ds, validation, data_epoch = pipelines
    opt = config.optimization
    distribution = describe(strategy, opt.batch_size)
    history_writer = _HistoryWriter(run, _resumed_history(run) if resume else {}, distribution)
    divergence = StopOnDivergence(raise_error=False)  # reported below, with diverged.json
    selection = _selection_callbacks(run, opt, history_writer.history, uses_ema(model.optimizer))
    model.fit(
        train_ds,
        epochs=opt.epochs,
        validation_data=validation,
        shuffle=False,  # the pipeline shuffles with the config's seed
        verbose=verbose,
        callbacks=[
            divergence,
            data_epoch,
            *selection,
            history_writer,
            # The backup outlives fit: it is removed only once model.keras is in place.
            _Backup(str(run.backup_dir), delete_checkpoint=False, double_checkpoint=True),
            *tensorboard_callbacks(run, config),
            *(callbacks or []),
        ],
    )
    if divergence.where is not None:
        epoch, batch = divergence.where
        run.mark_diverged(epoch, batch)
        kept = (
            f"{run.backup_dir} holds the last completed epoch ({epoch - 1})"
            if epoch > 1 and run.backup_dir.exists()
            else "no epoch had completed"
        )
        raise TrainingDivergedError(
            f"Training diverged: the loss became NaN/inf at epoch {epoch}, batch {batch}. "
            f"Nothing was saved as finished; {kept}. Lower --learning-rate or --alpha, or "
            "check the data, and re-run with --overwrite."
        )
    history = history_writer.history
    if opt.keep_best and run.best_weights_path.exists():
        model.load_weights(run.best_weights_path)
        history["best_epoch"] = _best_epoch(history)
    write_run_projector(run, config, model)
    history_writer.record_time()
    return model, history


# A debugging aid (the multi-worker tests use it): every worker saves its final weights here.
WORKER_WEIGHTS_ENV = "TF_INFOMAX_WORKER_WEIGHTS_DIR"


def _save_worker_weights(model: InfoMaxVAE, role) -> None:
    folder = os.environ.get(WORKER_WEIGHTS_ENV)
    if folder:
        name = "chief" if role.task_type is None else f"{role.task_type}-{role.task_id}"
        Path(folder).mkdir(parents=True, exist_ok=True)
        model.save_weights(Path(folder) / f"{name}.weights.h5")
