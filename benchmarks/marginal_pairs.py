"""The critic's MI estimate at 1, 2 and 4 replicas, with marginal pairs global or per replica.

    python benchmarks/marginal_pairs.py            # writes benchmarks/results/marginal_pairs.json
    python benchmarks/marginal_pairs.py --table    # its Markdown table (docs/distributed.md)

Trains one InfoMax-VAE on one device (Fashion-MNIST, global batch 100), then evaluates its
training critic's MI bound (f-KL, eq. 6) on held-out images under R = 1, 2, 4 replicas (R
logical CPU devices, MirroredStrategy, a fresh process each), with ``marginal_scope`` global
(partners drawn from the all-gathered global batch of 100) and replica (from each replica's
100 / R), for several pairing seeds. The same weights and images throughout: the differences
are the pairing's alone. Not a timing: run anywhere.
"""

from __future__ import annotations

import json
import os
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

RESULTS = Path(__file__).with_name("results") / "marginal_pairs.json"
REPLICAS = (1, 2, 4)
SCOPES = ("global", "replica")
SEEDS = tuple(range(5))
SETTINGS = dict(
    model="infomax-vae",
    dataset="fashion_mnist",
    latent_dim=20,
    limit=3000,
    validation_limit=0,
    batch_size=100,
    epochs=3,
    arch_options={"units": 256},
    critic_units=(256, 64),
)
EVAL_IMAGES = 1000


def worker(replicas: int, run_dir: str) -> dict:
    """MI bound of the run's model per scope and pairing seed under ``replicas`` replicas."""
    from tf_infomax import data
    from tf_infomax.distributed import make_strategy
    from tf_infomax.runs import RunDir

    strategy = make_strategy("mirrored", ",".join(f"cpu:{i}" for i in range(replicas)))
    images = data.load(
        "fashion_mnist", "test", batch_size=100, limit=EVAL_IMAGES, include_labels=False
    )
    with strategy.scope():
        model = RunDir(run_dir).model()
    rows = {}
    for scope in SCOPES:
        model.marginal_scope = scope
        estimates = []
        for seed in SEEDS:
            model.seed = seed  # seeds the pairing (and the reparameterisation noise)
            model.test_function = None  # both are read when the step is traced
            estimates.append(model.evaluate(images, verbose=0, return_dict=True)["mi"])
        rows[scope] = [round(float(v), 4) for v in estimates]
    return rows


def main() -> None:
    from tf_infomax.config import TrainConfig
    from tf_infomax.training import train

    env = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "2"}
    with tempfile.TemporaryDirectory() as folder:
        run_dir = Path(folder) / "run"
        _, history = train(TrainConfig.from_flat(**SETTINGS), run_dir, verbose=0)
        results = {}
        for replicas in REPLICAS:
            out = subprocess.run(
                [sys.executable, __file__, "--worker", str(replicas), str(run_dir)],
                capture_output=True,
                text=True,
                env=env,
                check=True,
            )
            results[str(replicas)] = json.loads(out.stdout.strip().splitlines()[-1])
            print(replicas, results[str(replicas)], flush=True)
    summary = {
        replicas: {
            scope: {
                "mean": round(statistics.mean(values), 4),
                "sd": round(statistics.stdev(values), 4),
            }
            for scope, values in scopes.items()
        }
        for replicas, scopes in results.items()
    }
    record = {
        "command": "python benchmarks/marginal_pairs.py",
        "settings": SETTINGS,
        "eval_images": EVAL_IMAGES,
        "pairing_seeds": list(SEEDS),
        "final_train_mi": round(history["mi"][-1], 4),
        "per_replica_batch": {str(r): SETTINGS["batch_size"] // r for r in REPLICAS},
        "mi_estimates": results,
        "summary": summary,
    }
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(json.dumps(record, indent=1) + "\n")
    print(f"wrote {RESULTS}")


def table(record: dict) -> str:
    """The Markdown table of docs/distributed.md, from marginal_pairs.json."""
    lines = [
        "| replicas | partners drawn from | MI bound, mean over seeds | sd |",
        "|---|---|---|---|",
    ]
    for replicas, scopes in record["summary"].items():
        for scope, row in scopes.items():
            pool = record["settings"]["batch_size"]
            pool = pool if scope == "global" else record["per_replica_batch"][replicas]
            lines.append(f"| {replicas} | {scope} ({pool} z) | {row['mean']} | {row['sd']} |")
    return "\n".join(lines)


if __name__ == "__main__":
    if sys.argv[1:2] == ["--worker"]:
        print(json.dumps(worker(int(sys.argv[2]), sys.argv[3])))
    elif sys.argv[1:2] == ["--table"]:
        print(table(json.loads(RESULTS.read_text())))
    else:
        main()
