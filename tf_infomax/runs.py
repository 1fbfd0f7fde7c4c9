"""``RunDir``: the one owner of a run directory's layout, state and files.

A run directory holds

* ``config.json``: the run's :class:`~tf_infomax.config.TrainConfig` (flat, by option name);
* ``history.json``: per-epoch logs, rewritten after every epoch (``null`` for a non-finite
  value), with ``wall_time_s`` (one entry per process that trained it);
* ``backup/``: Keras ``BackupAndRestore`` state while the run is unfinished;
* ``model.keras``: the trained model (weights and both optimizers' state): the run is
  finished when it exists and ``backup/`` does not;
* ``data.json``: for ``dir:``/``npz:``/``tfds:`` sources, what was read (absolute path,
  number of images, shape, classes, splits used, content fingerprint);
* ``diverged.json``: where training stopped on a NaN/inf loss;
* ``best.weights.h5``: with ``--keep-best``, the weights of the epoch of lowest val_loss;
* ``logs/``: TensorBoard: Keras' curves (``train/``, ``validation/``), the pictures and
  histograms of ``tf_infomax.summaries`` (``summaries/``) and the embedding projector of the
  held-out codes (``projector/``, ``tf_infomax.projector``);
* ``metrics.json`` and ``figures/``: written by evaluation.

Every file that marks work finished is written atomically (beside, fsync, rename), and the
backup is removed only after the final files are in place, so a kill at any moment leaves
either the finished run or a resumable one.
"""

from __future__ import annotations

import contextlib
import json
import math
import os
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

CONFIG_FILE, MODEL_FILE, HISTORY_FILE = "config.json", "model.keras", "history.json"
METRICS_FILE, DIVERGED_FILE = "metrics.json", "diverged.json"
DATA_FILE = "data.json"
BEST_WEIGHTS_FILE = "best.weights.h5"
BACKUP_DIR, LOGS_DIR, FIGURES_DIR = "backup", "logs", "figures"
# Everything training and evaluation write; nothing else is ever removed by ``clear``.
OWN_FILES = (
    CONFIG_FILE,
    MODEL_FILE,
    HISTORY_FILE,
    METRICS_FILE,
    DIVERGED_FILE,
    BEST_WEIGHTS_FILE,
    DATA_FILE,
)
OWN_DIRS = (BACKUP_DIR, LOGS_DIR, FIGURES_DIR)


def write_json(path: Path, value: Any) -> None:
    """Write JSON atomically; NaN and inf are written as ``null`` so the file stays JSON."""
    text = json.dumps(_finite_or_null(value), indent=1, allow_nan=False) + "\n"
    with atomic_path(path) as tmp:
        tmp.write_text(text)


@contextlib.contextmanager
def atomic_path(path: Path) -> Iterator[Path]:
    """Yield a temporary path beside ``path``; on success fsync it and rename it into place.

    The temporary name keeps the suffix (Keras wants ``.keras``). On error it is removed and
    ``path`` is left as it was.
    """
    path = Path(path)
    tmp = path.with_name(f".{path.stem}.partial{path.suffix}")
    try:
        yield tmp
        with open(tmp, "rb+") as handle:
            os.fsync(handle.fileno())
        os.replace(tmp, path)
        _fsync_dir(path.parent)
    finally:
        tmp.unlink(missing_ok=True)


def _fsync_dir(folder: Path) -> None:
    with contextlib.suppress(OSError):  # not every file system lets a folder be fsynced
        fd = os.open(folder, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)


def _finite_or_null(value):
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, dict):
        return {k: _finite_or_null(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_finite_or_null(v) for v in value]
    return value


def _read_json(path: Path, what: str) -> Any:
    try:
        return json.loads(path.read_text())
    except json.JSONDecodeError as error:
        raise ValueError(
            f"{path} is damaged ({what} is not valid JSON: {error}). Restore it, or re-run "
            "the command that wrote it (`tf-infomax train ... --overwrite` for a run)."
        ) from None


class RunDir:
    """A run directory: its paths, its state, and reading and writing its files.

    Example:
        >>> run = RunDir("runs/demo")
        >>> run.is_finished, run.config().model.method
        (True, 'infomax-vae')
        >>> model = run.model()
    """

    def __init__(self, path: str | os.PathLike):
        self.path = Path(path)

    def __repr__(self) -> str:
        return f"RunDir({str(self.path)!r})"

    def __truediv__(self, name: str) -> Path:
        return self.path / name

    # ------------------------------------------------------------------ paths and state
    config_path = property(lambda self: self.path / CONFIG_FILE)
    model_path = property(lambda self: self.path / MODEL_FILE)
    history_path = property(lambda self: self.path / HISTORY_FILE)
    metrics_path = property(lambda self: self.path / METRICS_FILE)
    data_path = property(lambda self: self.path / DATA_FILE)
    diverged_path = property(lambda self: self.path / DIVERGED_FILE)
    best_weights_path = property(lambda self: self.path / BEST_WEIGHTS_FILE)
    backup_dir = property(lambda self: self.path / BACKUP_DIR)
    logs_dir = property(lambda self: self.path / LOGS_DIR)
    figures_dir = property(lambda self: self.path / FIGURES_DIR)
    summaries_dir = property(lambda self: self.path / LOGS_DIR / "summaries")
    projector_dir = property(lambda self: self.path / LOGS_DIR / "projector")

    @property
    def is_run(self) -> bool:
        """The folder holds a run (its config was written)."""
        return self.config_path.exists()

    @property
    def is_finished(self) -> bool:
        """Trained to the end: the model is saved and no backup is left."""
        return self.model_path.exists() and not self.backup_dir.exists()

    @property
    def diverged(self) -> dict | None:
        """Where training diverged (epoch, batch), or None."""
        return (
            _read_json(self.diverged_path, "the divergence record")
            if self.diverged_path.exists()
            else None
        )

    @property
    def is_evaluated(self) -> bool:
        return self.metrics_path.exists()

    def foreign_entries(self) -> list[str]:
        """Names in the folder that a run does not write (a folder that is not a run)."""
        if not self.path.is_dir():
            return []
        own = set(OWN_FILES) | set(OWN_DIRS)
        return sorted(p.name for p in self.path.iterdir() if p.name not in own)

    # ------------------------------------------------------------------ reading
    def config(self):
        """The config the run was trained with, not today's defaults."""
        from tf_infomax.config import TrainConfig

        if not self.config_path.exists():
            raise FileNotFoundError(
                f"{self.config_path} not found: {self.path} is not a run directory written by "
                "`tf-infomax train`."
            )
        values = _read_json(self.config_path, "the run's config")
        try:
            return TrainConfig.from_dict(values, stored=True)
        except (TypeError, ValueError) as error:
            raise ValueError(
                f"{self.config_path}: {error}. The run was written by another version of "
                "tf-infomax; edit the file or re-train with --overwrite."
            ) from None

    def model(self):
        """The trained model, with a clear error for a missing or damaged file."""
        import keras

        if not self.model_path.exists():
            raise FileNotFoundError(
                f"{self.model_path} not found: the run in {self.path} has not finished (re-run "
                "the same `tf-infomax train ... --out` command to resume it)."
            )
        try:
            return keras.models.load_model(self.model_path)
        except Exception as error:  # keras raises several types for damaged archives
            raise ValueError(
                f"Could not load {self.model_path}: the file is damaged or not a tf-infomax "
                f"model ({type(error).__name__}: {error}). Re-train or restore it from a backup."
            ) from error

    def history(self) -> dict:
        if not self.history_path.exists():
            return {}
        return _read_json(self.history_path, "the training history")

    def data_record(self) -> dict | None:
        """``data.json``: the source a ``dir:``/``npz:``/``tfds:`` run read, or None."""
        if not self.data_path.exists():
            return None
        return _read_json(self.data_path, "the record of the training data")

    def metrics(self) -> dict:
        if not self.metrics_path.exists():
            return {}
        return _read_json(self.metrics_path, "the metrics")

    # ------------------------------------------------------------------ writing
    def write_config(self, config) -> None:
        write_json(self.config_path, config.flat())

    def write_data(self, record: dict) -> None:
        write_json(self.data_path, record)

    def write_history(self, history: dict) -> None:
        write_json(self.history_path, history)

    def write_metrics(self, results: dict) -> None:
        """Merge ``results`` into metrics.json (metrics computed now replace earlier ones)."""
        write_json(self.metrics_path, {**self.metrics(), **results})

    def mark_diverged(self, epoch: int, batch: int) -> None:
        write_json(self.diverged_path, {"epoch": epoch, "batch": batch})

    def save_model(self, model) -> None:
        """Save the model atomically, then remove the backup: the run is finished."""
        with atomic_path(self.model_path) as tmp:
            model.save(tmp)
        shutil.rmtree(self.backup_dir, ignore_errors=True)

    def clear(self) -> list[str]:
        """Remove everything a run writes here (never other files); returns what was removed."""
        removed = []
        for name in OWN_FILES:
            if (self.path / name).exists():
                (self.path / name).unlink()
                removed.append(name)
        for name in OWN_DIRS:
            if (self.path / name).exists():
                shutil.rmtree(self.path / name)
                removed.append(name + "/")
        return removed
