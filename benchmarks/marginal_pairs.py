"""The critic's MI estimate at 1, 2 and 4 replicas, with marginal pairs global or per replica.

    python benchmarks/marginal_pairs.py            # writes benchmarks/results/marginal_pairs.json

For each replica count R (R logical CPU devices, MirroredStrategy, one fresh process each) and
each ``marginal_scope`` (``global``: partners from the all-gathered global batch; ``replica``:
from each replica's batch / R), trains the same InfoMax-VAE (sklearn_digits, global batch 100)
for a few epochs and records the training critic's MI estimate (train ``mi``, validation
``val_mi``) and the loss. Not a timing: run anywhere.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

RESULTS = Path(__file__).with_name("results") / "marginal_pairs.json"
REPLICAS = (1, 2, 4)
SCOPES = ("global", "replica")
SETTINGS = dict(
    model="infomax-vae",
    dataset="sklearn_digits",
    latent_dim=8,
    limit=1000,
    validation_limit=500,
    batch_size=100,
    epochs=4,
    arch_options={"units": 64},
    critic_units=(64, 32),
    strategy="mirrored",
)


def worker(replicas: int) -> dict:
    """Train once per scope on ``replicas`` logical CPUs; the last epoch's logs."""
    from tf_infomax.config import TrainConfig
    from tf_infomax.training import train

    devices = ",".join(f"cpu:{i}" for i in range(replicas))
    rows = {}
    for scope in SCOPES:
        config = TrainConfig.from_flat(**SETTINGS, devices=devices, marginal_scope=scope)
        with tempfile.TemporaryDirectory() as folder:
            _, history = train(config, Path(folder) / "run", verbose=0)
        rows[scope] = {
            key: round(history[key][-1], 4) for key in ("loss", "mi", "val_mi", "neg_elbo")
        }
    return rows


def main() -> None:
    env = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "2"}
    results = {}
    for replicas in REPLICAS:
        out = subprocess.run(
            [sys.executable, __file__, "--worker", str(replicas)],
            capture_output=True,
            text=True,
            env=env,
            check=True,
        )
        results[str(replicas)] = json.loads(out.stdout.strip().splitlines()[-1])
        print(replicas, results[str(replicas)], flush=True)
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    record = {
        "command": "python benchmarks/marginal_pairs.py",
        "settings": SETTINGS,
        "per_replica_batch": {str(r): SETTINGS["batch_size"] // r for r in REPLICAS},
        "final_epoch": results,
    }
    RESULTS.write_text(json.dumps(record, indent=1) + "\n")
    print(f"wrote {RESULTS}")


if __name__ == "__main__":
    if sys.argv[1:2] == ["--worker"]:
        print(json.dumps(worker(int(sys.argv[2]))))
    else:
        main()
