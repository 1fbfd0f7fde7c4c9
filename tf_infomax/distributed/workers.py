"""Which worker this process is, and where a non-chief worker writes what only the chief keeps.

Under ``MultiWorkerMirroredStrategy`` every worker runs the same ``fit``; only the chief writes
the run directory (config, history, backup, TensorBoard, model.keras). The others write the same
files to a scratch folder of their own, removed when training ends, so no two processes ever
open one file (HDF5 locks ``backup/latest.weights.h5``).
"""

from __future__ import annotations

import json
import os
import shutil
import tempfile
from dataclasses import dataclass
from pathlib import Path

import tensorflow as tf


@dataclass(frozen=True)
class WorkerRole:
    """This process's place in the cluster: ``task_type`` (None alone), ``task_id``, chief."""

    task_type: str | None
    task_id: int
    is_chief: bool

    @property
    def name(self) -> str:
        return "chief" if self.task_type is None else f"{self.task_type} {self.task_id}"

    def scratch_dir(self) -> Path:
        """A new private folder for a non-chief worker's copies of the run's files."""
        return Path(tempfile.mkdtemp(prefix=f"tf-infomax-{self.task_type}{self.task_id}-"))


def worker_role(strategy: tf.distribute.Strategy) -> WorkerRole:
    """The role of this process under ``strategy`` (chief unless multi-worker says otherwise).

    The chief is the ``chief`` task, or ``worker`` 0 in a cluster without one: the worker that
    ``strategy.extended.should_checkpoint`` designates.
    """
    resolver = getattr(strategy, "cluster_resolver", None)
    task_type = getattr(resolver, "task_type", None) or None
    task_id = int(getattr(resolver, "task_id", 0) or 0)
    return WorkerRole(task_type, task_id, bool(strategy.extended.should_checkpoint))


def is_chief_process() -> bool:
    """Whether $TF_CONFIG (if any) makes this process the chief: the ``chief`` task, or
    ``worker`` 0 in a cluster without one (``worker_role``'s rule, without a strategy)."""
    config = json.loads(os.environ.get("TF_CONFIG") or "{}")
    task = config.get("task") or {}
    task_type, task_id = task.get("type"), int(task.get("index", 0) or 0)
    if not task_type or task_type == "chief":
        return True
    return task_type == "worker" and task_id == 0 and "chief" not in config.get("cluster", {})


def remove_scratch(path: Path) -> None:
    shutil.rmtree(path, ignore_errors=True)
