"""Replay the epoch in which a run diverged, from its backup, with per-step diagnostics.

A run that stopped on NaN/inf keeps ``diverged.json`` (epoch, batch) and ``backup/`` (the last
completed epoch). This copies the run to a scratch folder, switches ``--diagnostics`` on (they
read gradients and scores, they do not change the update) and resumes it: the data order and
the noise are functions of (seed, epoch, step), so the same steps are replayed. Each step's
values are recovered from ``fit``'s running means (value_n = n m_n - (n - 1) m_(n-1)); the
``*_max`` / ``*_min`` diagnostics are running extremes over the epoch. Writes the last
``--steps`` steps up to the first non-finite loss (or the epoch's last ones). ``--set KEY=VALUE``
replays with a config change from that epoch on: would it have carried the run through?::

    python -m trainers.replay_divergence runs/fashion_mnist_convergence/infomax-vae_d4_s1 \\
        --out docs/results/divergence_infomax-vae_d4_s1.json
"""

from __future__ import annotations

import argparse
import json
import math
import os
import shutil
import tempfile
from pathlib import Path

import keras

# Config keys whose value lives in an optimizer variable that the backup restores.
RESTORED_FROM_BACKUP = {"learning_rate", "critic_learning_rate"}
EXTREMES = ("joint_score_max", "marginal_score_max", "log_var_min", "log_var_max", "mean_abs_max")


class StepRecorder(keras.callbacks.Callback):
    """Per-step values of every logged metric during one epoch (``epoch``, 1-based)."""

    def __init__(self, epoch: int):
        super().__init__()
        self.epoch, self.current, self.steps, self.previous = epoch, 0, [], {}
        self.epoch_means: dict = {}  # fit's running means (extremes) at the last step seen

    def on_epoch_begin(self, epoch, logs=None):
        self.current, self.previous = epoch + 1, {}

    def on_train_batch_end(self, batch, logs=None):
        if self.current != self.epoch:
            return
        n = batch + 1
        step = {"batch": n}
        for key, value in (logs or {}).items():
            value = float(value)
            if key in EXTREMES or n == 1:
                step[key] = value
            else:
                step[key] = n * value - (n - 1) * self.previous.get(key, value)
            self.previous[key] = value
        self.steps.append(step)
        self.epoch_means = {k: float(v) for k, v in (logs or {}).items()}

    def on_epoch_end(self, epoch, logs=None):
        if epoch + 1 >= self.epoch:
            self.model.stop_training = True


def replay(run_dir: str | os.PathLike, steps: int = 60, changes: dict | None = None) -> dict:
    """The replayed steps; ``changes`` (config keys -> values) apply from the diverged epoch on,
    to test whether a setting would have carried the run through it."""
    from tf_infomax.config import TrainConfig
    from tf_infomax.training import train

    restored = sorted(set(changes or {}) & RESTORED_FROM_BACKUP)
    if restored:
        raise ValueError(
            f"--set {restored[0]}: the backup restores the optimizers' variables, their "
            "learning rates among them, so the replay would run with the run's own value (a "
            "replay of infomax-vae-pairs16_d4_s1 with critic_learning_rate=0.001 repeated the "
            "divergence bit for bit). Train the run again with the new rate instead."
        )
    run_dir = Path(run_dir)
    diverged = json.loads((run_dir / "diverged.json").read_text())
    with tempfile.TemporaryDirectory(prefix="replay_") as tmp:
        copy = Path(tmp) / "run"
        shutil.copytree(run_dir, copy, ignore=shutil.ignore_patterns("logs", "diverged.json"))
        flat = json.loads((copy / "config.json").read_text())
        flat.update(changes or {}, diagnostics=True)
        (copy / "config.json").write_text(json.dumps(flat))
        config = TrainConfig.load(copy / "config.json")
        recorder = StepRecorder(diverged["epoch"])
        try:
            train(config, copy, verbose=0, callbacks=[recorder])
        except Exception as error:  # noqa: BLE001 - the replay's end is what we report
            print(f"replay ended: {type(error).__name__}: {str(error)[:200]}")
        marker = copy / "diverged.json"
        replayed = json.loads(marker.read_text()) if marker.exists() else None
    bad = next(
        (i for i, s in enumerate(recorder.steps) if not math.isfinite(s.get("loss", 0.0))),
        len(recorder.steps) - 1,
    )
    return {
        "run": str(run_dir),
        "changes": changes or {},
        "diverged": diverged,
        "replay_diverged": replayed,
        "steps_replayed": len(recorder.steps),
        "epoch_means": recorder.epoch_means,
        "steps": recorder.steps[max(0, bad - steps + 1) : bad + 1],
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("run", help="run directory holding diverged.json and backup/")
    parser.add_argument("--steps", type=int, default=60, help="steps kept before the first NaN")
    parser.add_argument(
        "--set",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="replay with this config change (VALUE as JSON: 1000, null, true)",
    )
    parser.add_argument("--out", required=True, help="JSON file to write")
    args = parser.parse_args(argv)
    changes = {}
    for item in args.set:
        key, _, value = item.partition("=")
        changes[key] = json.loads(value)
    result = replay(args.run, args.steps, changes)
    tmp = f"{args.out}.tmp"
    with open(tmp, "w") as f:
        json.dump(result, f, indent=1)
    os.replace(tmp, args.out)
    print(f"wrote {args.out}: {len(result['steps'])} steps, replay: {result['replay_diverged']}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
