"""kill -9 at five points of training, during export and during evaluate: nothing finished is
lost, every file left is loadable, and a resumed run ends as an uninterrupted one."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from pathlib import Path

import keras
import numpy as np
import pytest

DRIVER = Path(__file__).with_name("fault_driver.py")
EPOCHS = int(os.environ.get("FAULT_EPOCHS", "3"))  # scripts/fault_injection.sh: longer


def drive(run_dir: Path, point: str) -> int:
    env = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "2"}
    root = str(Path(__file__).parents[1])
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [root, env.get("PYTHONPATH")]))
    result = subprocess.run(
        [sys.executable, str(DRIVER), str(run_dir), point, str(EPOCHS)],
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
    )
    if result.returncode not in (0, -signal.SIGKILL):
        raise AssertionError(result.stderr[-3000:])
    return result.returncode


def check_files_load(run_dir: Path) -> None:
    """Every file a kill left behind is whole: JSON parses, a model.keras loads."""
    for path in run_dir.glob("*.json"):
        json.loads(path.read_text())
    if (run_dir / "model.keras").exists():
        keras.models.load_model(run_dir / "model.keras")
    assert not list(run_dir.glob(".*.partial*")) or not (run_dir / "model.keras").exists()


@pytest.fixture(scope="module")
def reference(tmp_path_factory):
    run_dir = tmp_path_factory.mktemp("reference")
    assert drive(run_dir, "none") == 0
    model = keras.models.load_model(run_dir / "model.keras")
    return json.loads((run_dir / "history.json").read_text()), model.get_weights()


SLOW = pytest.mark.slow


@pytest.mark.parametrize(
    "point",
    [
        "epoch2-batch3",
        pytest.param("epoch1-batch2", marks=SLOW),
        pytest.param("epoch1-end", marks=SLOW),
        pytest.param("final-save", marks=SLOW),
    ],
)
def test_training_killed_resumes_to_the_uninterrupted_result(tmp_path, reference, point):
    history, weights = reference
    assert drive(tmp_path, point) == -signal.SIGKILL
    check_files_load(tmp_path)
    assert not (tmp_path / "model.keras").exists()  # nothing marked finished
    assert drive(tmp_path, "none") == 0
    resumed = json.loads((tmp_path / "history.json").read_text())
    assert resumed["epoch"] == list(range(1, EPOCHS + 1))  # none lost, none repeated
    for key in ("loss", "val_loss", "mi"):
        np.testing.assert_allclose(resumed[key], history[key], rtol=1e-5, err_msg=key)
    model = keras.models.load_model(tmp_path / "model.keras")
    for got, want in zip(model.get_weights(), weights, strict=True):
        np.testing.assert_allclose(got, want, rtol=1e-5, atol=1e-6)
    # Each process that completed an epoch keeps its share (a kill in epoch 1 started over).
    assert len(resumed["wall_time_s"]) == (1 if point == "epoch1-batch2" else 2)
    assert resumed["wall_time_total_s"] == pytest.approx(sum(resumed["wall_time_s"]), abs=1e-2)
    assert not (tmp_path / "backup").exists()


@pytest.mark.slow
def test_export_killed_leaves_no_version_and_can_be_redone(tmp_path):
    assert drive(tmp_path, "export") == -signal.SIGKILL
    base = tmp_path / "export"
    assert not base.exists() or not any(p.name.isdigit() for p in base.iterdir())
    from tf_infomax.serving import export_run

    assert [p.name.startswith(".export-1-") for p in base.iterdir()] == [True]  # the scratch
    path = export_run(tmp_path, base)
    assert path.name == "1" and (path / "saved_model.pb").exists()
    assert [p.name for p in base.iterdir()] == ["1"]  # the killed export's scratch is gone


@pytest.mark.slow
def test_evaluate_killed_writes_no_metrics_and_can_be_redone(tmp_path):
    assert drive(tmp_path, "evaluate") == -signal.SIGKILL
    assert not (tmp_path / "metrics.json").exists()
    check_files_load(tmp_path)
    from tf_infomax.metrics import EvaluationConfig, evaluate_run

    evaluate_run(tmp_path, EvaluationConfig.tiny(figures=False, metrics=("kl",)))
    assert json.loads((tmp_path / "metrics.json").read_text())["kl"]["value"] > 0
