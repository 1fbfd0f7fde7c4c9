"""Our configurations in a second TF process: TF reads TF_ENABLE_ONEDNN_OPTS when it loads, so
the other oneDNN setting needs its own process. It is the driver run with ``--worker``, driven
like the pythae worker (``protocol``): ops ``setup``, ``measure``, ``matmul`` and ``quit``."""

from __future__ import annotations

import sys

from . import ours
from .matmul_limit import matmul_rates
from .protocol import JsonWorker, serve


def main(args) -> int:
    """``--worker``: our configurations in this process (its own TF_ENABLE_ONEDNN_OPTS)."""
    return serve(lambda: handlers(args))


def handlers(args) -> dict:
    """The worker's ops, over the dataset that ``args`` describe."""
    images = ours.images_in_memory(args.limit, args.data_dir) if args.pipeline == "memory" else None
    dataset = ours.training_dataset(
        args.pipeline, args.batch_size, args.limit, images, args.data_dir
    )
    runs: dict[str, ours.OurRun] = {}

    def setup(command):
        run = ours.OurRun(
            command["arch"],
            command["method"],
            command["jit"],
            dataset,
            int(command["steps"]),
            args.warmup_steps,
        )
        runs[command["key"]] = run
        return {
            "warmup_seconds": run.warmup_seconds,
            "parameters": run.parameters,
            "flops": run.flops,
        }

    def measure(command):
        run = runs[command["key"]]
        wall, cpu = run.run()
        return {"seconds": wall, "cpu_seconds": cpu, "steps": run.steps}

    def matmul(command):
        cases = [tuple(c) for c in command["cases"]]
        return {
            "rates": matmul_rates(cases, int(command["repeats"]), float(command["target_flops"]))
        }

    return {"setup": setup, "measure": measure, "matmul": matmul}


def start(args, onednn: bool, script) -> JsonWorker:
    """The driver ``script`` as a worker with TF_ENABLE_ONEDNN_OPTS = ``onednn``."""
    command = [sys.executable, str(script), "--worker"]
    command += ["--batch-size", str(args.batch_size), "--pipeline", args.pipeline]
    command += ["--warmup-steps", str(args.warmup_steps)]
    command += ["--intra-op-threads", str(args.intra_op_threads)]
    command += ["--inter-op-threads", str(args.inter_op_threads)]
    if args.limit:
        command += ["--limit", str(args.limit)]
    if args.data_dir:
        command += ["--data-dir", args.data_dir]
    env = {"TF_ENABLE_ONEDNN_OPTS": "1" if onednn else "0"}
    return JsonWorker(f"TF (oneDNN {'on' if onednn else 'off'})", command, env)
