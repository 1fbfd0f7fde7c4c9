"""MultiWorkerMirroredStrategy through the launcher: two local workers on CPU.

The workers' logs of the first epoch must equal one process's on the same global batch: that
holds only if the two shards of every global batch are its two halves (AutoShardPolicy.DATA,
each example once per epoch) and the replicas' noise is the global batch's.
"""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

from tf_infomax.runs import RunDir

TINY = [
    "--dataset", "sklearn_digits", "--latent-dim", "3", "--limit", "200", "--batch-size", "50",
    "--arch-option", "units=32", "--critic-units", "16", "8", "--validation-limit", "100",
]  # fmt: skip
LAUNCH = [sys.executable, "-m", "tf_infomax.distributed.launch", "--workers", "2", "--"]


def _env(tmp_path: Path) -> dict:
    scratch = tmp_path / "tmp"
    scratch.mkdir(exist_ok=True)
    return {
        **os.environ,
        "TF_CPP_MIN_LOG_LEVEL": "2",
        "TMPDIR": str(scratch),  # where non-chief workers make their scratch folders
        "TF_INFOMAX_WORKER_WEIGHTS_DIR": str(tmp_path / "weights"),
    }


def _launch(tmp_path: Path, out: Path, *flags: str, timeout: int = 300):
    command = [*LAUNCH, "tf-infomax", "train", *TINY, "--out", str(out), *flags]
    return subprocess.run(
        command, env=_env(tmp_path), capture_output=True, text=True, timeout=timeout
    )


def _weights(path: Path) -> list[np.ndarray]:
    import h5py

    arrays = []
    with h5py.File(path, "r") as f:
        f.visititems(lambda _, v: arrays.append(v[()]) if isinstance(v, h5py.Dataset) else None)
    return arrays


@pytest.mark.slow
def test_workers_with_different_configs_stop_with_a_clear_error(tmp_path):
    # Worker 1 gets another latent size: both must refuse before training (no hang).
    script = (
        "import os, sys, json; from trainers.cli import main; "
        "i = json.loads(os.environ['TF_CONFIG'])['task']['index']; "
        "sys.exit(main(sys.argv[1:] + ['--latent-dim', str(3 + i)]))"
    )
    command = [*LAUNCH, "python", "-c", script, "train", *TINY[:-2], "--out", str(tmp_path / "r")]
    result = subprocess.run(
        command, env=_env(tmp_path), capture_output=True, text=True, timeout=300
    )
    assert result.returncode == 2, result.stdout[-4000:]
    assert "different training options" in result.stdout


def test_two_workers_train_like_one_process_and_a_killed_worker_resumes_the_cluster(tmp_path):
    # in CI (issue 13): one cluster, killed mid-run and resumed (each launch costs ~30 s here).
    out, log = tmp_path / "run", tmp_path / "launch.log"
    epochs = ["--epochs", "4"]
    command = [*LAUNCH, "tf-infomax", "train", *TINY, "--out", str(out), *epochs]
    with open(log, "w") as handle:
        launcher = subprocess.Popen(command, env=_env(tmp_path), stdout=handle, stderr=handle)
    metadata = out / "backup" / "training_metadata.json"
    deadline = time.monotonic() + 300
    while not metadata.exists() and launcher.poll() is None and time.monotonic() < deadline:
        time.sleep(0.05)
    assert launcher.poll() is None, log.read_text()[-4000:]
    pid = int(re.search(r"\[launch\] worker 1: pid (\d+)", log.read_text()).group(1))
    os.kill(pid, signal.SIGKILL)  # worker 1, mid-run: after epoch 1 at the earliest
    assert launcher.wait(timeout=120) != 0
    reached = RunDir(out).history()
    backup_epoch = int(json.loads(metadata.read_text())["epoch"])
    assert 1 <= backup_epoch < 4 and not RunDir(out).is_finished

    scratch_before = set((tmp_path / "tmp").iterdir())  # the killed worker's is left behind
    result = _launch(tmp_path, out, *epochs)
    assert result.returncode == 0, result.stdout[-4000:]
    run = RunDir(out)
    history = run.history()
    assert history["epoch"] == [1, 2, 3, 4]  # none lost, none repeated
    assert history["loss"][:backup_epoch] == reached["loss"][:backup_epoch]  # not retrained
    assert len(history["wall_time_s"]) == 2

    # Only the chief writes; the other worker removes its scratch folder.
    assert re.search(r"^\[worker 1\] trained as a worker; the chief wrote ", result.stdout, re.M)
    assert not re.search(r"^\[worker 1\] wrote ", result.stdout, re.M)
    assert run.is_finished and run.logs_dir.is_dir()
    assert {p.name for p in out.iterdir()} == {"config.json", "history.json", "model.keras", "logs"}
    assert set((tmp_path / "tmp").iterdir()) == scratch_before
    assert history["distribution"]["workers"] == 2
    assert history["distribution"]["per_replica_batch_size"] == 25
    chief, other = (_weights(tmp_path / "weights" / f"worker-{i}.weights.h5") for i in (0, 1))
    assert len(chief) > 4
    assert all(np.array_equal(a, b) for a, b in zip(chief, other, strict=True))

    # One process, same global batch of 50: the same first epoch (float32 sums in another order).
    from tf_infomax.training import train

    config = run.config().replace(strategy="one-device", devices="cpu:0", epochs=1)
    _, single = train(config, tmp_path / "single", verbose=0)
    for key in ("loss", "reconstruction", "kl", "mi", "val_loss"):
        assert history[key][0] == pytest.approx(single[key][0], rel=1e-5), key
