"""The start of a multi-worker run, agreed by every worker before ``fit``.

1. The chief checks the run directory (read-only); all workers all-gather a fingerprint of
   their config (``TrainConfig.computation``) and whether the chief may start. Different
   configs, or a refusal, raise the same error on every worker.
2. The chief writes ``config.json`` (clearing the run first with ``overwrite``); a second
   all-gather is the barrier after which the others read it.
3. Each non-chief copies the chief's ``config.json``, ``history.json`` and ``backup/`` into a
   scratch folder of its own, which it trains into, so its ``BackupAndRestore`` restores the
   chief's state and never writes the chief's files. A third all-gather checks that every
   worker resumes at the same epoch (it differs when the run directory is not on storage that
   every worker reads).
"""

from __future__ import annotations

import shutil
from collections.abc import Callable
from pathlib import Path

import tensorflow as tf

from tf_infomax.distributed.agreement import fingerprint, gather_from_workers, rows_agree
from tf_infomax.distributed.workers import WorkerRole
from tf_infomax.runs import BACKUP_DIR, CONFIG_FILE, HISTORY_FILE, RunDir


class WorkersDisagreeError(ValueError):
    """Workers of one multi-worker run were started with different configs or run states."""


def agree_to_start(
    strategy: tf.distribute.Strategy,
    role: WorkerRole,
    run: RunDir,
    config,
    check: Callable[[RunDir], bool],
) -> bool:
    """Steps 1: all workers agree on the config and the chief may start; the chief's resume.

    Call it before building the model: variables created under the strategy are broadcast
    from the chief, a collective that hangs or fails obscurely if the workers' shapes differ.
    ``check(run)`` says whether ``run`` resumes (raising for a refused one).
    """
    refusal, resume = None, False
    if role.is_chief:
        try:
            resume = check(run)
        except (OSError, ValueError) as error:  # FileExistsError is an OSError
            refusal = error
    rows = gather_from_workers(
        strategy, [*fingerprint(config.computation()), float(refusal is not None)]
    )
    if not rows_agree(rows[:, :-1]):
        raise WorkersDisagreeError(
            f"The {len(rows)} workers of this run were started with different training "
            "options (their config fingerprints differ): start every worker with the same "
            "command and options; only TF_CONFIG (and --devices) may differ."
        )
    if refusal is not None:
        raise refusal
    if rows[:, -1].max() > 0:
        raise RuntimeError(
            f"The chief refused to start the run in {run.path} (its log says why); fix that "
            "and restart every worker."
        )
    return resume


def share_run(
    strategy: tf.distribute.Strategy,
    role: WorkerRole,
    run: RunDir,
    chief_resume: bool,
    check: Callable[[RunDir], bool],
    start: Callable[[RunDir], None],
    resume_epoch: Callable[[RunDir], int],
) -> tuple[RunDir, bool]:
    """Steps 2-3: (the run directory this worker writes, whether it resumes).

    ``start(run)`` writes the config, ``resume_epoch(run)`` is the epoch a resumed run's
    backup holds.
    """
    chief_path, resume = run.path, chief_resume
    if role.is_chief:
        start(run)
    gather_from_workers(strategy, [0.0])  # barrier: the chief's config.json is written
    if not role.is_chief:
        own = RunDir(role.scratch_dir())
        _copy_run_state(run, own)
        resume, run = check(own), own
    epoch = resume_epoch(run) if resume else 0
    epochs = gather_from_workers(strategy, [float(epoch)])[:, 0]
    if not rows_agree(epochs):
        if not role.is_chief:
            shutil.rmtree(run.path, ignore_errors=True)
        raise WorkersDisagreeError(
            f"The workers would resume at different epochs ({sorted({int(e) for e in epochs})}): "
            f"every worker must read the chief's run directory {chief_path} at the same path "
            "(shared storage, docs/distributed.md), or start a new --out."
        )
    return run, resume


def _copy_run_state(source: RunDir, target: RunDir) -> None:
    """Copy what a resume reads (config, history, backup) from the chief's run to ours."""
    for name in (CONFIG_FILE, HISTORY_FILE):
        if (source / name).exists():
            shutil.copy2(source / name, target / name)
    if (source / BACKUP_DIR).exists():
        shutil.copytree(source / BACKUP_DIR, Path(target / BACKUP_DIR))
