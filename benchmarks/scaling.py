"""Scaling overhead: examples/s of 1, 2 and 4 local workers and of MirroredStrategy on 2 devices.

    /work/runs/quiet.sh python benchmarks/scaling.py   # -> benchmarks/results/scaling.json
    python benchmarks/scaling.py --table               # its Markdown table (docs/performance.md)

Trains the paper's fc InfoMax-VAE (Fashion-MNIST shapes, latent 20: 7.6 M VAE parameters plus
the 1.2 M of the critic) on a global batch of 100 and times the steps after the first
of a fit of 9 (``step_timer.StepTimer``), after a warm-up fit of 2 steps:

* ``workers=N``: N MultiWorkerMirroredStrategy processes on localhost (``tf_infomax.distributed
  .launch``), each pinned (``sched_setaffinity``, as ``taskset``) to its share of the cores;
* ``mirrored``: one process, MirroredStrategy over 2 logical CPU devices.

Each case also times the all-reduce of one tensor the size of all trainable variables (what
one step's gradients cost to sum). On a 2-core machine this measures overhead, not speed-up:
the workers share the same cores. ``two_host_estimate`` is what a ring all-reduce of the
gradients would cost per step between 2 hosts at an assumed network bandwidth.
"""

from __future__ import annotations

import json
import os
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

RESULTS = Path(__file__).with_name("results") / "scaling.json"
BATCH, WARMUP_STEPS, STEPS, REDUCES = 100, 2, 8, 5
ASSUMED_GBIT_S = (10.0, 25.0)  # typical data-centre Ethernet between two hosts
CASES = (("workers", 1), ("workers", 2), ("workers", 4), ("mirrored", 2))


def _pin(index: int, workers: int) -> list[int]:
    """Pin this process to its share of the cores: worker i of N gets cores i mod #cores."""
    cores = sorted(os.sched_getaffinity(0))
    share = cores if workers == 1 else [cores[index % len(cores)]]
    if len(cores) > workers > 1:
        per = len(cores) // workers
        share = cores[index * per : (index + 1) * per]
    os.sched_setaffinity(0, share)
    return share


def worker(kind: str, count: int, result: str) -> None:
    """One process of a case: train, time the steps and an all-reduce; the chief writes JSON."""
    index = json.loads(os.environ.get("TF_CONFIG", '{"task": {"index": 0}}'))["task"]["index"]
    cores = _pin(index, count) if kind == "workers" else sorted(os.sched_getaffinity(0))
    import tensorflow as tf

    tf.config.threading.set_intra_op_parallelism_threads(len(cores))
    tf.config.threading.set_inter_op_parallelism_threads(len(cores))
    from benchmarks.step_timer import StepTimer
    from tf_infomax import data
    from tf_infomax.config import TrainConfig
    from tf_infomax.distributed import make_strategy
    from tf_infomax.training import make_model

    if kind == "mirrored":
        strategy = make_strategy("mirrored", ",".join(f"cpu:{i}" for i in range(count)))
    else:
        strategy = make_strategy("multi-worker" if count > 1 else "one-device", "cpu:0")
    config = TrainConfig.from_flat(dataset="fashion_mnist", batch_size=BATCH)
    train = data.load("fashion_mnist", batch_size=BATCH, limit=BATCH * STEPS, include_labels=False)
    with strategy.scope():
        model = make_model(config, (28, 28, 1))

    model.fit(train, epochs=1, steps_per_epoch=WARMUP_STEPS, verbose=0)  # trace, connect
    timer = StepTimer()  # the steps after the first of this fit call
    model.fit(train, epochs=1, steps_per_epoch=STEPS + 1, callbacks=[timer], verbose=0)
    step_s = (timer.last - timer.first) / timer.batches

    size = sum(int(v.shape.num_elements()) for v in model.trainable_variables)
    vae = sum(int(v.shape.num_elements()) for v in model._vae_variables)
    gradient = tf.ones([size], tf.float32)

    def all_reduce():
        per_replica = strategy.run(lambda: tf.identity(gradient))
        return strategy.reduce("SUM", per_replica, axis=None)

    all_reduce().numpy()  # warm-up (and the collective's setup)
    start = time.perf_counter()
    for _ in range(REDUCES):
        all_reduce().numpy()
    reduce_s = (time.perf_counter() - start) / REDUCES
    if strategy.extended.should_checkpoint:
        Path(result).write_text(
            json.dumps(
                {
                    "case": f"{kind}={count}",
                    "replicas": strategy.num_replicas_in_sync,
                    "cores_per_process": len(cores),
                    "step_ms": round(1000 * step_s, 2),
                    "examples_per_s": round(BATCH / step_s, 1),
                    "all_reduce_ms": round(1000 * reduce_s, 2),
                    "all_reduced_parameters": size,
                    "vae_parameters": vae,
                }
            )
        )


def run_case(kind: str, count: int) -> dict:
    from tf_infomax.distributed.launch import launch

    with tempfile.TemporaryDirectory() as folder:
        result = Path(folder) / "result.json"
        argv = [sys.executable, __file__, "--worker", kind, str(count), str(result)]
        workers = count if kind == "workers" and count > 1 else 1
        code = launch(workers, argv, env={**os.environ, "TF_CPP_MIN_LOG_LEVEL": "2"})
        if code != 0:
            raise RuntimeError(f"{kind}={count} failed with exit code {code}")
        return json.loads(result.read_text())


def two_host_estimate(parameters: int) -> list[dict]:
    """Ring all-reduce between 2 hosts: each sends and receives 2 (N - 1) / N of the bytes."""
    hosts = 2
    sent = 2 * (hosts - 1) / hosts * 4 * parameters
    return [
        {
            "assumed_gbit_s": gbit,
            "bytes_sent_per_host_per_step": int(sent),
            "all_reduce_ms_per_step": round(1000 * sent / (gbit * 1e9 / 8), 1),
        }
        for gbit in ASSUMED_GBIT_S
    ]


def main() -> None:
    from benchmarks import machine

    started = time.perf_counter()
    rows = []
    for kind, count in CASES:
        rows.append(run_case(kind, count))
        print(json.dumps(rows[-1]), flush=True)
    one = rows[0]["examples_per_s"]
    for row in rows:
        row["relative_to_one_worker"] = round(row["examples_per_s"] / one, 3)
    record = {
        "command": "/work/runs/quiet.sh python benchmarks/scaling.py",
        "note": "2 shared cores: the cases measure the overhead of replication, not speed-up",
        "global_batch": BATCH,
        "timed_steps": STEPS,
        "warmup_steps": WARMUP_STEPS,
        "cpu": machine.cpu_model(),
        "cores": len(os.sched_getaffinity(0)),
        "load_average": machine.load_average(),
        "cases": rows,
        "two_host_estimate": {
            "vae_parameters": rows[0]["vae_parameters"],
            "gradients_parameters": rows[0]["all_reduced_parameters"],
            "vae_only": two_host_estimate(rows[0]["vae_parameters"]),
            "vae_and_critic": two_host_estimate(rows[0]["all_reduced_parameters"]),
        },
        "wall_s": round(time.perf_counter() - started, 1),
    }
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(json.dumps(record, indent=1) + "\n")
    print(f"wrote {RESULTS}")


def table(record: dict) -> str:
    """The Markdown table of docs/performance.md, from scaling.json."""
    lines = [
        "| case | replicas | cores per process | ms per step | examples/s | vs 1 worker "
        "| all-reduce of the gradients (ms) |",
        "|---|---|---|---|---|---|---|",
    ]
    for row in record["cases"]:
        lines.append(
            f"| {row['case']} | {row['replicas']} | {row['cores_per_process']} | "
            f"{row['step_ms']} | {row['examples_per_s']} | {row['relative_to_one_worker']} | "
            f"{row['all_reduce_ms']} |"
        )
    return "\n".join(lines)


if __name__ == "__main__":
    if sys.argv[1:2] == ["--worker"]:
        worker(sys.argv[2], int(sys.argv[3]), sys.argv[4])
    elif sys.argv[1:2] == ["--table"]:
        print(table(json.loads(RESULTS.read_text())))
    else:
        main()
