"""Training throughput: our VAE and InfoMax-VAE (Keras 3 / TF), pythae's VAE (PyTorch), and the
machine's dense fp32 matmul limit, side by side, in examples/s.

Usage (from the repository root):

    python benchmarks/train_throughput.py                  # full run (~12 min at load 2-4)
    python benchmarks/train_throughput.py --skip-pythae    # our side and the matmul limit only
    python benchmarks/train_throughput.py --quick --skip-pythae --out /tmp/t.json   # smoke test

At batch 100, latent 20, on real Fashion-MNIST; the library in ``benchmarks/throughput/`` says
what is measured: ``ours`` (our models under ``model.fit``, graph and XLA, oneDNN on and off,
the other setting in a second TF process, ``tf_worker``), ``pythae_side`` (pythae's VAE in its
own virtualenv), ``matmul_limit`` and ``flops``. Configurations are interleaved (``timing``);
medians over repeats go to ``benchmarks/results/train_throughput.json`` (``results``).
Flags are parsed in ``main()``: importing this module parses none and loads no TensorFlow.
"""

from __future__ import annotations

import argparse
import os
import pathlib
import sys
import time

from machine import busy_processes, load_average  # benchmarks/machine.py
from throughput import pythae_side
from throughput.timing import interleave, log

RESULTS = pathlib.Path(__file__).resolve().parent / "results" / "train_throughput.json"


def parse_args(argv):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=5, help="timed repeats per configuration")
    parser.add_argument("--steps", type=int, default=10, help="training steps per repeat")
    parser.add_argument("--warmup-steps", type=int, default=5, help="untimed steps first")
    parser.add_argument("--batch-size", type=int, default=100)
    parser.add_argument("--archs", default="fc,conv", help="comma list of fc, conv")
    parser.add_argument("--xla", default="both", choices=("both", "on", "off"))
    parser.add_argument("--skip-pythae", action="store_true", help="our side only")
    parser.add_argument("--pythae-loops", default="trainer,plain", help="trainer, plain")
    parser.add_argument("--skip-matmul", action="store_true", help="no matmul limit")
    parser.add_argument(
        "--pipeline",
        default="load",
        choices=("load", "memory"),
        help="load: tf_infomax.data.load as training uses it; memory: the same images as one "
        "in-memory tensor, shuffled and batched (isolates the input pipeline's cost)",
    )
    parser.add_argument(
        "--onednn",
        default="both",
        choices=("both", "on", "off"),
        help="TF_ENABLE_ONEDNN_OPTS for our side: on, off, or both (the 'off' configurations in "
        "a second TF process). TF enables oneDNN by default only on CPUs with AVX512-VNNI/BF16 "
        "or AMX; elsewhere its default is off",
    )
    parser.add_argument("--worker", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--intra-op-threads", type=int, default=0, help="0 = TF's default")
    parser.add_argument("--inter-op-threads", type=int, default=0, help="0 = TF's default")
    parser.add_argument("--pythae-venv", type=pathlib.Path, default=pythae_side.VENV)
    parser.add_argument(
        "--pythae-omp-wait-policy",
        default="both",
        choices=("default", "passive", "both"),
        help="PyTorch's OMP_WAIT_POLICY: default (unset, as installed), passive, or both (two "
        "workers). On a loaded machine libgomp's spinning threads can slow PyTorch several-fold",
    )
    parser.add_argument("--data-dir", default=None, help="TFDS data dir (default: TFDS's)")
    parser.add_argument("--limit", type=int, default=None, help="use the first N train images")
    parser.add_argument(
        "--quick", action="store_true", help="tiny settings for a smoke test (fc, 1 x 2 steps)"
    )
    parser.add_argument("--out", type=pathlib.Path, default=RESULTS)
    args = parser.parse_args(argv)
    if args.quick:
        args.repeats, args.steps, args.warmup_steps = 1, 2, 1
        args.limit = args.limit or 1000
        if "--archs" not in argv:
            args.archs = "fc"
        if "--onednn" not in argv:
            args.onednn = "on"
    args.archs = [a.strip() for a in args.archs.split(",") if a.strip()]
    args.pythae_loops = [x.strip() for x in args.pythae_loops.split(",") if x.strip()]
    for arch in args.archs:
        if arch not in ("fc", "conv"):
            parser.error(f"--archs: unknown {arch!r}")
    if args.repeats < 1 or args.steps < 1 or args.warmup_steps < 1:
        parser.error("--repeats, --steps and --warmup-steps must be >= 1")
    return args


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    args = parse_args(argv)
    if not args.worker:  # a worker has it from its parent
        # Read by TensorFlow when it loads: set before the import below.
        os.environ["TF_ENABLE_ONEDNN_OPTS"] = "0" if args.onednn == "off" else "1"
    import tensorflow as tf

    # Thread pools must be set before TensorFlow runs any op.
    tf.config.threading.set_intra_op_parallelism_threads(args.intra_op_threads)
    tf.config.threading.set_inter_op_parallelism_threads(args.inter_op_threads)
    from throughput import matmul_limit, ours, results, tf_worker

    if args.worker:
        return tf_worker.main(args)
    batch = args.batch_size
    xla_modes = {"both": (False, True), "on": (True,), "off": (False,)}[args.xla]
    local_onednn = args.onednn != "off"
    started = time.perf_counter()
    load_start, busy_start = load_average(), busy_processes()
    threads = ours.effective_intra_op_threads()
    print(f"load average at start {load_start}; intra-op threads {threads}", flush=True)

    images = None
    if args.pipeline == "memory" or not args.skip_pythae:
        images = ours.images_in_memory(args.limit, args.data_dir)
    dataset = ours.training_dataset(args.pipeline, batch, args.limit, images, args.data_dir)

    workers, worker_info, images_file, tf_remote = [], None, None, None
    try:
        if args.onednn == "both":
            tf_remote = tf_worker.start(args, not local_onednn, pathlib.Path(__file__).resolve())
            workers.append(tf_remote)
        runs, info = ours.setup(args, xla_modes, dataset, local_onednn, tf_remote, started)
        if not args.skip_pythae:
            p_runs, p_info, worker_info, images_file = pythae_side.setup(
                args, images, threads, started, workers
            )
            runs.update(p_runs)
            info.update(p_info)

        def progress(repeat, seconds):
            done = ", ".join(
                f"{k.split('/', 1)[1]} {batch * args.steps / s[-1][0]:.0f}"
                for k, s in seconds.items()
            )
            log(started, f"repeat {repeat + 1}/{args.repeats} (examples/s): {done}")

        measures = {key: run.run for key, run in runs.items()}
        seconds = interleave(measures, args.repeats, progress)

        limit = None
        if "fc" in args.archs and not args.skip_matmul:
            log(started, "matmul limit ...")
            limit = matmul_limit.measure(batch, local_onednn, tf_remote, args.quick)
    finally:
        for worker in workers:
            worker.close()
        if images_file is not None:
            os.unlink(images_file)

    command = "python benchmarks/train_throughput.py " + " ".join(argv)
    run = dict(started=started, load_start=load_start, busy_start=busy_start, threads=threads)
    result = results.assemble(args, info, seconds, limit, worker_info, {**run, "command": command})
    results.write(result, args.out)
    results.print_table(result)
    print(f"wrote {args.out} ({result['wall_seconds']:.0f} s)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
