"""MirroredStrategy on 2 logical CPUs gives the single-device update for the same global batch."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

SCRIPT = Path(__file__).with_name("mirrored_update.py")


def run_step(method: str, *flags: str) -> dict:
    env = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "2"}
    result = subprocess.run(
        [sys.executable, str(SCRIPT), method, *flags],
        capture_output=True,
        text=True,
        env=env,
        timeout=300,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    return json.loads(result.stdout.strip().splitlines()[-1])


@pytest.mark.parametrize(
    ("method", "flags"),
    [  # the infomax-vae test below checks the same update with both optimizers, in CI
        pytest.param("vae", (), marks=pytest.mark.slow),
        pytest.param("beta-vae", ("--jit",), marks=pytest.mark.slow),
    ],
)
def test_two_replicas_make_the_single_device_update(method, flags):
    # SGD, so a wrong loss scale (e.g. no division by num_replicas) changes the update 2x.
    # --jit: XLA compiles the per-replica gradients (the whole step cannot be compiled).
    out = run_step(method, *flags)
    assert out["replicas"] == 2
    assert out["vae_max_abs_update"] > 1e-3
    assert out["vae_max_abs_diff"] < 1e-5
    assert out["replica_max_abs_diff"] == 0.0
    assert out["multi_loss"] == pytest.approx(out["single_loss"], rel=1e-5)


@pytest.mark.slow
@pytest.mark.parametrize("flags", [("--adam",), ("--adam", "--jit")])
def test_fused_adam_updates_every_replica_like_one_device(flags):
    # FusedAdam's kernel writes each replica's own copy (inside Strategy.extended.update).
    out = run_step("vae", *flags)
    assert out["vae_max_abs_update"] > 1e-3
    assert out["vae_max_abs_diff"] < 1e-5
    assert out["replica_max_abs_diff"] == 0.0


@pytest.mark.parametrize("samples", ["1", "3"])
def test_infomax_vae_makes_the_single_device_update_with_global_marginal_pairs(samples):
    # marginal_scope="global" (default) all-gathers z, so the two replicas pair each x with the
    # z one device would: the MI term, the critic's and the VAE's updates match; with K = 3
    # marginal partners per example too.
    out = run_step("infomax-vae", "--marginal-samples", samples)
    assert out["critic_max_abs_update"] > 1e-4 and out["vae_max_abs_update"] > 1e-4
    assert out["vae_max_abs_diff"] < 1e-5 and out["critic_max_abs_diff"] < 1e-5
    assert out["multi_loss"] == pytest.approx(out["single_loss"], rel=1e-5)
    # marginal_scope="replica": partners within each replica's batch, so the critic's update
    # differs from one device's (it still trains).
    assert out["replica_pairs_critic_max_abs_update"] > 1e-4
    assert out["replica_pairs_critic_max_abs_diff"] > 1e-6
    assert set(out["multi_logs"]) == {
        "loss",
        "reconstruction",
        "kl",
        "neg_elbo",
        "mi",
        "critic_loss",
    }


def test_cli_trains_under_mirrored_strategy_and_its_run_evaluates_and_exports(tmp_path):
    # --devices cpu:0,cpu:1: two logical CPU devices, made before any other TensorFlow op.
    out = tmp_path / "run"
    command = [
        *(sys.executable, "-m", "trainers.cli", "train", "--dataset", "sklearn_digits"),
        *("--latent-dim", "3", "--limit", "200", "--batch-size", "50", "--validation-limit", "0"),
        *("--arch-option", "units=32", "--critic-units", "16", "8", "--out", str(out)),
        *("--strategy", "mirrored", "--devices", "cpu:0,cpu:1"),
    ]
    env = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "2"}
    result = subprocess.run(command, capture_output=True, text=True, env=env, timeout=300)
    assert result.returncode == 0, result.stderr[-3000:]
    history = json.loads((out / "history.json").read_text())
    assert history["distribution"] == {
        "strategy": "MirroredStrategy",
        "replicas": 2,
        "workers": 1,
        "global_batch_size": 50,
        "per_replica_batch_size": 25,
    }
    stored = json.loads((out / "config.json").read_text())
    assert (stored["strategy"], stored["devices"], stored["batch_size"]) == (
        "mirrored",
        "cpu:0,cpu:1",
        50,
    )
    # A run trained under a strategy is an ordinary run to evaluate and export (one device).
    from trainers.cli import main

    assert main(["evaluate", str(out), "--metrics", "kl", "active_units", "--limit", "100"]) == 0
    assert json.loads((out / "metrics.json").read_text())["active_units"]["value"] >= 0
    assert main(["export", str(out), "--to", str(tmp_path / "served")]) == 0
    assert (tmp_path / "served" / "1" / "saved_model.pb").exists()
