"""MirroredStrategy on 2 logical CPUs gives the single-device update for the same global batch."""

from __future__ import annotations

import json
import math
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


@pytest.mark.parametrize(("method", "flags"), [("vae", ()), ("beta-vae", ("--jit",))])
def test_two_replicas_make_the_single_device_update(method, flags):
    # SGD, so a wrong loss scale (e.g. no division by num_replicas) changes the update 2x.
    # --jit: XLA compiles the per-replica gradients (the whole step cannot be compiled).
    out = run_step(method, *flags)
    assert out["replicas"] == 2
    assert out["vae_max_abs_update"] > 1e-3
    assert out["vae_max_abs_diff"] < 1e-5
    assert out["replica_max_abs_diff"] == 0.0
    assert out["multi_loss"] == pytest.approx(out["single_loss"], rel=1e-5)


@pytest.mark.parametrize("flags", [("--adam",), ("--adam", "--jit")])
def test_fused_adam_updates_every_replica_like_one_device(flags):
    # FusedAdam's kernel writes each replica's own copy (inside Strategy.extended.update).
    out = run_step("vae", *flags)
    assert out["vae_max_abs_update"] > 1e-3
    assert out["vae_max_abs_diff"] < 1e-5
    assert out["replica_max_abs_diff"] == 0.0


def test_infomax_vae_trains_both_optimizers_under_mirrored_strategy():
    # The MI bound is estimated per replica on its local batch (like batch statistics), so it
    # is not bit-identical to one device; check the step runs and updates everything.
    out = run_step("infomax-vae")
    assert out["critic_max_abs_update"] > 1e-4 and out["vae_max_abs_update"] > 1e-4
    assert all(math.isfinite(v) for v in out["multi_logs"].values())
    assert set(out["multi_logs"]) == {
        "loss",
        "reconstruction",
        "kl",
        "neg_elbo",
        "mi",
        "critic_loss",
    }
