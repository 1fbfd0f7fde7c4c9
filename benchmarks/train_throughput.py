"""Training throughput: our VAE and InfoMax-VAE (Keras 3 / TF), pythae's VAE (PyTorch), and the
machine's dense fp32 matmul limit, side by side, in examples/s.

Usage (from the repository root):

    python benchmarks/train_throughput.py                  # full run (~12 min at load 2-4)
    python benchmarks/train_throughput.py --skip-pythae    # our side and the matmul limit only
    python benchmarks/train_throughput.py --quick --skip-pythae --out /tmp/t.json   # smoke test

What is measured, all at batch 100, latent 20, on real Fashion-MNIST (``tf_infomax.data.load``):

* ours: ``build_model("vae" | "infomax-vae", arch=...)`` (InfoMax-VAE: alpha = 10, critic and
  its second optimizer on) trained with ``model.fit`` exactly as users train it, compiled with
  and without XLA (``jit_compile=True`` / ``False``; ``False`` is what ``"auto"`` means on CPU),
  and with TensorFlow's oneDNN kernels on and off (``TF_ENABLE_ONEDNN_OPTS``, read when TF
  loads: the "off" configurations run in a second TF process driven like the pythae worker).
  Each repeat is one ``fit`` call of ``steps + 1`` steps; the time from the end of its first step
  to the end of its last is the time of ``steps`` steps (the iterator start and shuffle-buffer
  fill of a new ``fit`` call are left out; the pipeline's work during the steps is in).
* pythae 0.1.2 ``VAE`` (PyTorch 2.13 CPU) with the same encoder/decoder, Bernoulli likelihood
  (its ``bce`` loss on sigmoid outputs), Adam(1e-3), same batch, ``torch.set_num_threads`` =
  TF's intra-op threads, in its own virtualenv (created on first use) as a subprocess
  (``benchmarks/train_throughput_pythae.py``), both through pythae's ``BaseTrainer`` epoch loop
  and through a plain forward/backward/step loop over the model.
* the dense fp32 limit: ``tf.matmul`` GFLOP/s at every GEMM shape of the FC training step
  (forward, weight gradient, input gradient of each layer; graph and XLA, oneDNN on and off,
  best of all), and the time the step's GEMMs would take at those rates: the examples/s limit
  of the FC models.

Measurements are interleaved: every repeat measures every configuration once, in an order
rotated from repeat to repeat, so that a change of the (shared) machine's load hits all of them.
Medians over repeats are reported. Results go to ``benchmarks/results/train_throughput.json``.

FLOPs per training example (documented in docs/performance.md): for every dense or conv layer
with M multiply-adds per example in the forward pass, forward = 2M, weight gradient = 2M, input
gradient = 2M except where the input is the data (the first encoder layer, the critic's x
projection). The critic's x projection and z projection run once per example, its head twice
(joint and permuted pair). "Algorithmic" counts the critic head's input-gradient chain once;
"as implemented" counts it twice (the VAE loss and the critic loss are differentiated in two
backward passes). Element-wise work, the losses and the Adam updates are not counted.
"""

from __future__ import annotations

import argparse
import contextlib
import datetime
import json
import os
import pathlib
import platform
import shutil
import statistics
import subprocess
import sys
import tempfile
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

ROOT = pathlib.Path(__file__).resolve().parent.parent
RESULTS = ROOT / "benchmarks" / "results" / "train_throughput.json"
PYTHAE_WORKER = ROOT / "benchmarks" / "train_throughput_pythae.py"
PYTHAE_VENV = ROOT / "runs" / ".venv-pythae"  # runs/ is gitignored
PYTHAE_REQUIREMENTS = ("torch==2.13.0", "pythae==0.1.2")
METHODS = ("vae", "infomax-vae")
LATENT_DIM = 20
TARGETS = {
    "infomax_vae_over_pythae_vae": 1.2,
    "vae_fraction_of_matmul_limit": 0.70,
    "infomax_vae_step_over_vae_step_max": 1.3,
}


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
    parser.add_argument("--pythae-venv", type=pathlib.Path, default=PYTHAE_VENV)
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
        if "--archs" not in (argv or []):
            args.archs = "fc"
        if "--onednn" not in (argv or []):
            args.onednn = "on"
    args.archs = [a.strip() for a in args.archs.split(",") if a.strip()]
    args.pythae_loops = [x.strip() for x in args.pythae_loops.split(",") if x.strip()]
    for arch in args.archs:
        if arch not in ("fc", "conv"):
            parser.error(f"--archs: unknown {arch!r}")
    if args.repeats < 1 or args.steps < 1 or args.warmup_steps < 1:
        parser.error("--repeats, --steps and --warmup-steps must be >= 1")
    return args


ARGS = parse_args(sys.argv[1:] if __name__ == "__main__" else [])
if __name__ == "__main__" and not ARGS.worker:
    # Read by TensorFlow when it loads: set before the import below.
    os.environ["TF_ENABLE_ONEDNN_OPTS"] = "0" if ARGS.onednn == "off" else "1"

import numpy as np  # noqa: E402
import tensorflow as tf  # noqa: E402

if __name__ == "__main__":
    # Thread pools must be set before TensorFlow runs any op.
    tf.config.threading.set_intra_op_parallelism_threads(ARGS.intra_op_threads)
    tf.config.threading.set_inter_op_parallelism_threads(ARGS.inter_op_threads)

import keras  # noqa: E402
from machine import cpu_model, package_version  # noqa: E402  (benchmarks/machine.py)
from step_timer import StepTimer  # noqa: E402  (benchmarks/step_timer.py)

import tf_infomax  # noqa: E402
from tf_infomax import data  # noqa: E402
from tf_infomax.models import method_weights  # noqa: E402


def cpu_flags() -> list[str]:
    try:
        for line in pathlib.Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("flags"):
                flags = set(line.split(":", 1)[1].split())
                wanted = ("avx", "avx2", "fma", "avx512f", "avx512_bf16", "amx_tile")
                return [f for f in wanted if f in flags]
    except OSError:
        pass
    return []


def effective_intra_op_threads() -> int:
    configured = tf.config.threading.get_intra_op_parallelism_threads()
    return configured or len(os.sched_getaffinity(0))


def load_average() -> list[float]:
    return [round(x, 2) for x in os.getloadavg()]


def busy_processes(limit: int = 6) -> list[str]:
    """The busiest other processes now (ps), to record what shared the machine."""
    try:
        out = subprocess.run(
            ["ps", "-eo", "pid,pcpu,ni,args", "--sort=-pcpu"],
            capture_output=True,
            text=True,
            timeout=10,
            check=True,
        ).stdout.splitlines()[1:]
    except (OSError, subprocess.SubprocessError):
        return []
    rows = []
    for line in out:
        pid, pcpu, nice, *command = line.split()
        if int(pid) != os.getpid() and float(pcpu) > 0:
            rows.append(f"{pcpu}% nice {nice}: {' '.join(command)[:140]}")
    return rows[:limit]


# ------------------------------------------------------------------------------ FLOPs
def _prod(shape) -> int:
    out = 1
    for d in shape:
        out *= int(d)
    return out


def layer_macs(layer) -> int:
    """Multiply-adds per example of one Dense/Conv2D/Conv2DTranspose in a functional model."""
    if isinstance(layer, keras.layers.Dense):
        return int(layer.kernel.shape[0]) * int(layer.kernel.shape[1])
    if isinstance(layer, keras.layers.Conv2DTranspose):
        kh, kw, cout, cin = (int(d) for d in layer.kernel.shape)
        return _prod(layer.input.shape[1:3]) * kh * kw * cin * cout
    if isinstance(layer, keras.layers.Conv2D):
        kh, kw, cin, cout = (int(d) for d in layer.kernel.shape)
        return _prod(layer.output.shape[1:3]) * kh * kw * cin * cout
    return 0


def network_macs(net) -> list[int]:
    """MACs per example of each weighted layer of a functional encoder/decoder, in order."""
    return [m for m in (layer_macs(layer) for layer in net.layers) if m]


def flops_per_example(model) -> dict:
    """Training FLOPs per example: see the module docstring for the formula."""
    encoder, decoder = network_macs(model.encoder), network_macs(model.decoder)
    forward_macs = sum(encoder) + sum(decoder)
    vae = 2 * forward_macs + 2 * forward_macs + 2 * (forward_macs - encoder[0])
    out = {
        "forward_macs_encoder_decoder": forward_macs,
        "vae_part": vae,
        "critic_part_algorithmic": 0,
        "critic_part_as_implemented": 0,
    }
    critic = model.critic
    if critic is not None:
        x_macs = layer_macs(critic.x_projection)
        z_macs = layer_macs(critic.z_projection)
        head = sum(layer_macs(layer) for layer in critic.head.layers)
        pairs = 2  # joint and permuted
        forward = x_macs + z_macs + pairs * head
        weight_grads = forward
        head_input_grads = pairs * head
        z_input_grad = z_macs
        algorithmic = 2 * (forward + weight_grads + head_input_grads + z_input_grad)
        out.update(
            critic_forward_macs=forward,
            critic_part_algorithmic=algorithmic,
            critic_part_as_implemented=algorithmic + 2 * head_input_grads,
        )
    out["algorithmic"] = out["vae_part"] + out["critic_part_algorithmic"]
    out["as_implemented"] = out["vae_part"] + out["critic_part_as_implemented"]
    return out


# ------------------------------------------------------------------------------ matmul limit
def gemm_cases(model, batch: int) -> list[tuple[tuple, int]]:
    """(m, k, n, transpose_a, transpose_b) and count of each GEMM of one FC training step.

    Per dense layer (in -> out) on R rows: forward (R, in) @ (in, out); weight gradient
    x^T @ dy = (in, R) @ (R, out); input gradient dy @ W^T = (R, out) @ (out, in) except on data.
    The critic head's input gradients are listed once (the algorithmic count).
    """
    cases: dict[tuple, int] = {}

    def add(rows, fan_in, fan_out, input_grad=True):
        for case in (
            (rows, fan_in, fan_out, False, False),
            (fan_in, rows, fan_out, True, False),
        ) + (((rows, fan_out, fan_in, False, True),) if input_grad else ()):
            cases[case] = cases.get(case, 0) + 1

    def dense_layers(net):
        return [layer for layer in net.layers if isinstance(layer, keras.layers.Dense)]

    for i, layer in enumerate(dense_layers(model.encoder) + dense_layers(model.decoder)):
        add(batch, *layer.kernel.shape, input_grad=i > 0)
    critic = model.critic
    if critic is not None:
        add(batch, *critic.x_projection.kernel.shape, input_grad=False)
        add(batch, *critic.z_projection.kernel.shape)
        for layer in critic.head.layers:
            if isinstance(layer, keras.layers.Dense):
                add(2 * batch, *layer.kernel.shape)
    return [
        (tuple(int(v) if not isinstance(v, bool) else v for v in c), n) for c, n in cases.items()
    ]


def tf_matmul_timer(case, jit: bool, target_flops: float):
    """A callable timing ~target_flops of tf.matmul at one shape; returns GFLOP/s."""
    m, k, n, ta, tb = case
    # The product is summed so that no compiler can compute only part of it (XLA rewrites a
    # slice of a dot into a dot of slices); the m n adds are counted as work.
    flops = 2.0 * m * k * n + m * n
    iters = max(3, int(target_flops / flops))
    a = tf.random.normal((k, m) if ta else (m, k))
    b = tf.random.normal((n, k) if tb else (k, n))

    @tf.function(jit_compile=jit)
    def run(a, b):
        def body(i, acc):
            # acc * 0 keeps the product inside the loop (no hoisting); the add is O(m k).
            c = tf.matmul(a + acc * 0.0, b, transpose_a=ta, transpose_b=tb)
            return i + 1, acc + tf.reduce_sum(c) * 1e-30

        return tf.while_loop(
            lambda i, _: i < iters, body, (tf.constant(0), tf.constant(0.0)), parallel_iterations=1
        )[1]

    run(a, b).numpy()  # trace, compile

    def timed() -> float:
        start = time.perf_counter()
        run(a, b).numpy()
        return flops * iters / (time.perf_counter() - start) / 1e9

    return timed


def matmul_rates(cases: list[tuple], repeats: int, target_flops: float) -> list[dict]:
    """Per case: best and median GFLOP/s of ``repeats`` timings, graph and XLA interleaved."""
    out = []
    for case in cases:
        timers = {jit: tf_matmul_timer(case, jit, target_flops) for jit in (False, True)}
        samples = {False: [], True: []}
        for _ in range(repeats):
            for jit, timer in timers.items():
                samples[jit].append(timer())
        out.append(
            {
                mode: {
                    "best": round(max(samples[jit]), 2),
                    "median": round(statistics.median(samples[jit]), 2),
                }
                for mode, jit in (("graph", False), ("xla", True))
            }
        )
    return out


def matmul_limit(models: dict, batch: int, rates_by_setting: dict[str, list[dict]], cases) -> dict:
    """The examples/s limit of each FC model implied by the GEMM rates at its shapes.

    A limit is a ceiling: each shape's rate is the best timing over repeats, over graph and
    XLA, and over the oneDNN settings measured, so that contention from other processes lowers
    it as little as possible. A model's limit is the time its step's GEMMs take at those rates.
    """
    best = {}
    rates = []
    for i, case in enumerate(cases):
        entry = {
            "shape": list(case[:3]),
            "transpose_a": case[3],
            "transpose_b": case[4],
        }
        for setting, per_case in rates_by_setting.items():
            for mode, stats in per_case[i].items():
                entry[f"gflops_{mode}_{setting}_best"] = stats["best"]
                entry[f"gflops_{mode}_{setting}_median"] = stats["median"]
        best[case] = max(v for k, v in entry.items() if k.endswith("_best"))
        entry["gflops_best_of_all"] = best[case]
        rates.append(entry)
    limits = {}
    for method, model in models.items():
        counted = gemm_cases(model, batch)
        flops = sum(2.0 * c[0] * c[1] * c[2] * count for c, count in counted)
        seconds = sum(2.0 * c[0] * c[1] * c[2] * count / (best[c] * 1e9) for c, count in counted)
        limits[method] = {
            "gemm_flops_per_step": flops,
            "gemm_flops_per_example": flops / batch,
            "limit_step_ms": round(seconds * 1e3, 3),
            "limit_examples_per_s": round(batch / seconds, 1),
            "limit_gflops_weighted": round(flops / seconds / 1e9, 2),
        }
    return {
        "method": "tf.matmul (its product summed) in a tf.function while_loop, graph and "
        "jit_compile=True, under each TF_ENABLE_ONEDNN_OPTS setting measured; best timing per "
        "shape over all; a model's limit = the time its step's GEMMs take at those rates",
        "settings": sorted(rates_by_setting),
        "rates": rates,
        "peak_gflops_measured": round(max(best.values()), 2),
        "limits": limits,
    }


# ------------------------------------------------------------------------------ our side
def images_in_memory(limit) -> np.ndarray:
    """All train images (N, 28, 28, 1) float32 in [0, 1], in file order."""
    ds = data.load(
        "fashion_mnist",
        "train",
        batch_size=1000,
        shuffle=False,
        limit=limit,
        include_labels=False,
        data_dir=ARGS.data_dir,
        cache=False,
    )
    return np.concatenate([b.numpy() for b in ds])


def training_dataset(pipeline: str, batch: int, limit, images=None) -> tf.data.Dataset:
    if pipeline == "load":
        return data.load(
            "fashion_mnist",
            "train",
            batch_size=batch,
            seed=0,
            limit=limit,
            repeat=True,
            data_dir=ARGS.data_dir,
        )
    ds = tf.data.Dataset.from_tensor_slices(images)
    ds = ds.shuffle(len(images), seed=0, reshuffle_each_iteration=True).repeat()
    return ds.batch(batch, drop_remainder=True).prefetch(tf.data.AUTOTUNE)


class OurRun:
    """One of our configurations: a compiled model and its dataset."""

    def __init__(self, arch, method, jit, dataset, steps, warmup):
        keras.utils.set_random_seed(0)
        self.model = tf_infomax.build_model(
            method, image_shape=(28, 28, 1), latent_dim=LATENT_DIM, arch=arch
        )
        self.model.compile(jit_compile=jit)
        self.dataset, self.steps = dataset, steps
        start = time.perf_counter()
        self.fit(warmup)
        self.warmup_seconds = time.perf_counter() - start
        self.flops = flops_per_example(self.model)
        self.parameters = {
            "vae": sum(_prod(v.shape) for v in self.model._vae_variables),
            "critic": (
                sum(_prod(v.shape) for v in self.model.critic.trainable_variables)
                if self.model.critic is not None
                else 0
            ),
        }

    def fit(self, steps) -> StepTimer:
        timer = StepTimer()
        self.model.fit(
            self.dataset, epochs=1, steps_per_epoch=steps + 1, callbacks=[timer], verbose=0
        )
        return timer

    def run(self) -> tuple[float, float]:
        """(wall seconds, process CPU seconds) of ``steps`` steps."""
        timer = self.fit(self.steps)
        assert timer.batches == self.steps, (timer.batches, self.steps)
        return timer.last - timer.first, timer.last_cpu - timer.first_cpu


# ------------------------------------------------------------------------------ pythae side
def ensure_pythae_venv(venv: pathlib.Path) -> pathlib.Path:
    """The virtualenv's python, creating the venv with torch==2.13.0 and pythae if missing."""
    python = venv / "bin" / "python"
    check = [
        str(python),
        "-c",
        "import torch, pythae; assert torch.__version__.startswith('2.13.0')",
    ]
    if python.exists() and subprocess.run(check, capture_output=True).returncode == 0:
        return python
    print(f"creating {venv} ({', '.join(PYTHAE_REQUIREMENTS)}) ...", flush=True)
    base = shutil.which("python3") or sys.executable
    subprocess.run([base, "-m", "venv", "--clear", str(venv)], check=True)
    subprocess.run(
        [str(python), "-m", "pip", "install", "--quiet", *PYTHAE_REQUIREMENTS], check=True
    )
    subprocess.run(check, check=True)
    return python


class JsonWorker:
    """A subprocess driven one JSON line at a time (the pythae worker, or this script's TF
    worker with the other oneDNN setting)."""

    def __init__(self, name: str, command: list[str], env: dict[str, str]):
        self.name = name
        self.log = tempfile.TemporaryFile("w+")  # noqa: SIM115 (closed in close())
        self.process = subprocess.Popen(
            command,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=self.log,
            text=True,
            env={**os.environ, **env},
        )

    def ask(self, **command) -> dict:
        self.process.stdin.write(json.dumps(command) + "\n")
        self.process.stdin.flush()
        line = self.process.stdout.readline()
        if not line:
            self.log.seek(0)
            raise RuntimeError(f"{self.name} worker died:\n" + self.log.read()[-3000:])
        answer = json.loads(line)
        if "error" in answer:
            raise RuntimeError(f"{self.name} worker: {answer['error']}")
        return answer

    def close(self):
        with contextlib.suppress(Exception):
            self.ask(op="quit")
        with contextlib.suppress(Exception):
            self.process.wait(timeout=30)
        if self.process.poll() is None:
            self.process.kill()
        self.log.close()


def pythae_worker(python, images_path, threads, inter, batch, wait=None) -> JsonWorker:
    command = [str(python), str(PYTHAE_WORKER), "--images", images_path]
    command += ["--threads", str(threads), "--batch-size", str(batch)]
    if inter:
        command += ["--interop-threads", str(inter)]
    env = {"OMP_WAIT_POLICY": wait.upper()} if wait else {}
    return JsonWorker(f"pythae (OMP_WAIT_POLICY={wait or 'unset'})", command, env)


class RemoteRun:
    """A configuration set up and measured in a worker process."""

    def __init__(self, worker: JsonWorker, key: str, steps: int, **setup):
        self.worker, self.key, self.steps = worker, key, steps
        self.setup = worker.ask(op="setup", key=key, steps=steps, **setup)
        self.warmup_seconds = self.setup["warmup_seconds"]
        self.parameters = self.setup["parameters"]

    def run(self) -> tuple[float, float]:
        answer = self.worker.ask(op="measure", key=self.key)
        assert answer["steps"] == self.steps
        return answer["seconds"], answer["cpu_seconds"]


# ------------------------------------------------------------------------------ TF worker
def tf_worker_main(args) -> int:
    """``--worker``: our configurations in this process (its own TF_ENABLE_ONEDNN_OPTS)."""
    protocol = os.fdopen(os.dup(sys.stdout.fileno()), "w", buffering=1)
    sys.stdout = sys.stderr
    images = images_in_memory(args.limit) if args.pipeline == "memory" else None
    dataset = training_dataset(args.pipeline, args.batch_size, args.limit, images)
    runs: dict[str, OurRun] = {}

    def reply(payload):
        protocol.write(json.dumps(payload) + "\n")

    for line in sys.stdin:
        if not line.strip():
            continue
        command = json.loads(line)
        try:
            if command["op"] == "setup":
                run = OurRun(
                    command["arch"],
                    command["method"],
                    command["jit"],
                    dataset,
                    int(command["steps"]),
                    args.warmup_steps,
                )
                runs[command["key"]] = run
                reply(
                    {
                        "warmup_seconds": run.warmup_seconds,
                        "parameters": run.parameters,
                        "flops": run.flops,
                    }
                )
            elif command["op"] == "measure":
                run = runs[command["key"]]
                wall, cpu = run.run()
                reply({"seconds": wall, "cpu_seconds": cpu, "steps": run.steps})
            elif command["op"] == "matmul":
                reply(
                    {
                        "rates": matmul_rates(
                            [tuple(c) for c in command["cases"]],
                            int(command["repeats"]),
                            float(command["target_flops"]),
                        )
                    }
                )
            elif command["op"] == "quit":
                reply({"bye": True})
                return 0
            else:
                reply({"error": f"unknown op {command['op']!r}"})
        except Exception as error:  # reported to the parent, which fails loudly
            reply({"error": f"{type(error).__name__}: {error}"})
    return 0


def tf_worker(args, onednn: bool) -> JsonWorker:
    command = [sys.executable, str(pathlib.Path(__file__).resolve()), "--worker"]
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


# ------------------------------------------------------------------------------ main
def summarize(timings: list[tuple[float, float]], steps: int, batch: int) -> dict:
    per_step = [wall / steps for wall, _ in timings]
    cpu_per_step = [cpu / steps for _, cpu in timings]
    median, best = statistics.median(per_step), min(per_step)
    return {
        "cpu_ms_per_step_median": round(statistics.median(cpu_per_step) * 1e3, 2),
        "examples_per_s_median": round(batch / median, 1),
        "step_ms_median": round(median * 1e3, 2),
        "examples_per_s_best": round(batch / best, 1),
        "step_ms_best": round(best * 1e3, 2),
        "step_ms_all": [round(s * 1e3, 2) for s in per_step],
    }


def ratio(a, b):
    return round(a / b, 3) if a and b else None


def log(started: float, message: str) -> None:
    print(f"[{time.perf_counter() - started:.0f} s] {message}", flush=True)


def our_info(arch, method, jit, onednn, run, flops) -> dict:
    weights = method_weights(method)
    return {
        "framework": "tf_infomax (Keras 3 / TensorFlow)",
        "arch": arch,
        "method": method,
        "jit_compile": jit,
        "tf_enable_onednn_opts": onednn,
        "alpha": weights.alpha,
        "critic": weights.alpha > 0,
        "parameters": run.parameters,
        "warmup_seconds_incl_compile": round(run.warmup_seconds, 2),
        "flops_per_example": flops,
    }


def setup_ours(args, dataset, local_onednn: bool, tf_remote, started) -> tuple[dict, dict]:
    """Our configurations: in this process, and (other oneDNN setting) in ``tf_remote``."""
    runs, info = {}, {}
    settings = [local_onednn] + ([not local_onednn] if tf_remote is not None else [])
    for arch in args.archs:
        for method in METHODS:
            for jit in args.xla_modes:
                for onednn in settings:
                    mode = "xla" if jit else "graph"
                    key = f"ours/{arch}/{method}/{mode}/onednn-{'on' if onednn else 'off'}"
                    log(started, f"warm-up {key} ...")
                    if onednn == local_onednn:
                        run = OurRun(arch, method, jit, dataset, args.steps, args.warmup_steps)
                        flops = run.flops
                    else:
                        run = RemoteRun(
                            tf_remote, key, args.steps, arch=arch, method=method, jit=jit
                        )
                        flops = run.setup["flops"]
                    runs[key] = run
                    info[key] = our_info(arch, method, jit, onednn, run, flops)
    return runs, info


def setup_pythae(args, images, threads, started) -> tuple[dict, dict, list, dict, str]:
    """Workers (one per OMP wait policy) and their runs; the images go through a .npy file."""
    python = ensure_pythae_venv(args.pythae_venv)
    if args.steps * args.batch_size > len(images):
        raise SystemExit("--steps x --batch-size exceeds the images for pythae's trainer")
    with tempfile.NamedTemporaryFile(prefix="fmnist-", suffix=".npy", delete=False) as handle:
        np.save(handle, np.ascontiguousarray(images.transpose(0, 3, 1, 2)))  # NCHW for PyTorch
    runs, info, workers, worker_info = {}, {}, [], {}
    policies = (
        ("default", "passive")
        if args.pythae_omp_wait_policy == "both"
        else (args.pythae_omp_wait_policy,)
    )
    for policy in policies:
        worker = pythae_worker(
            python,
            handle.name,
            threads,
            args.inter_op_threads,
            args.batch_size,
            None if policy == "default" else policy,
        )
        workers.append(worker)
        worker_info[policy] = worker.ask(op="info")
        for arch in args.archs:
            for loop in args.pythae_loops:
                key = f"pythae/{arch}/vae/{loop}/omp-{policy}"
                log(started, f"warm-up {key} ...")
                run = RemoteRun(worker, key, args.steps, arch=arch, loop=loop)
                runs[key] = run
                info[key] = {
                    "framework": "pythae (PyTorch)",
                    "arch": arch,
                    "method": "vae",
                    "loop": loop,
                    "omp_wait_policy": policy,
                    "parameters": {"vae": run.parameters, "critic": 0},
                    "warmup_seconds": round(run.warmup_seconds, 2),
                }
    return runs, info, workers, worker_info, handle.name


def main() -> int:
    args = ARGS
    if args.worker:
        return tf_worker_main(args)
    batch = args.batch_size
    args.xla_modes = {"both": (False, True), "on": (True,), "off": (False,)}[args.xla]
    local_onednn = args.onednn != "off"
    started = time.perf_counter()
    load_start, busy_start = load_average(), busy_processes()
    threads = effective_intra_op_threads()
    print(f"load average at start {load_start}; intra-op threads {threads}", flush=True)

    images = None
    if args.pipeline == "memory" or not args.skip_pythae:
        images = images_in_memory(args.limit)
    dataset = training_dataset(args.pipeline, batch, args.limit, images)

    workers, worker_info, images_file, tf_remote = [], None, None, None
    try:
        if args.onednn == "both":
            tf_remote = tf_worker(args, onednn=not local_onednn)
            workers.append(tf_remote)
        runs, info = setup_ours(args, dataset, local_onednn, tf_remote, started)
        if not args.skip_pythae:
            p_runs, p_info, p_workers, worker_info, images_file = setup_pythae(
                args, images, threads, started
            )
            workers += p_workers
            runs.update(p_runs)
            info.update(p_info)

        keys = list(runs)
        seconds: dict[str, list[tuple[float, float]]] = {k: [] for k in keys}
        for repeat in range(args.repeats):
            shift = repeat % len(keys)
            for key in keys[shift:] + keys[:shift]:
                seconds[key].append(runs[key].run())
            done = ", ".join(
                f"{k.split('/', 1)[1]} {batch * args.steps / seconds[k][-1][0]:.0f}" for k in keys
            )
            log(started, f"repeat {repeat + 1}/{args.repeats} (examples/s): {done}")

        limit = None
        if "fc" in args.archs and not args.skip_matmul:
            log(started, "matmul limit ...")
            fc_models = {
                m: tf_infomax.build_model(m, image_shape=(28, 28, 1), latent_dim=LATENT_DIM)
                for m in METHODS
            }
            cases = [c for c, _ in gemm_cases(fc_models["infomax-vae"], batch)]
            repeats, target = (2, 1e8) if args.quick else (5, 1e9)
            rates = {
                f"onednn_{'on' if local_onednn else 'off'}": matmul_rates(cases, repeats, target)
            }
            if tf_remote is not None:
                rates[f"onednn_{'off' if local_onednn else 'on'}"] = tf_remote.ask(
                    op="matmul",
                    cases=[list(c) for c in cases],
                    repeats=repeats,
                    target_flops=target,
                )["rates"]
            limit = matmul_limit(fc_models, batch, rates, cases)
    finally:
        for worker in workers:
            worker.close()
        if images_file is not None:
            os.unlink(images_file)

    configurations = {}
    for key in keys:
        entry = dict(info[key])
        entry.update(summarize(seconds[key], args.steps, batch))
        configurations[key] = entry
    add_flop_rates(configurations, limit)
    headline = make_headline(configurations, args, limit)
    targets = check_targets(headline)

    threading = tf.config.threading
    result = {
        "benchmark": "training throughput, examples/s (issue 6)",
        "command": "python benchmarks/train_throughput.py " + " ".join(sys.argv[1:]),
        "date_utc": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
        "quick": args.quick,
        "settings": {
            "batch_size": batch,
            "latent_dim": LATENT_DIM,
            "steps_per_repeat": args.steps,
            "repeats": args.repeats,
            "warmup_steps": args.warmup_steps,
            "pipeline": args.pipeline,
            "data": "fashion_mnist train (real, TFDS)"
            + (f", first {args.limit} images" if args.limit else ""),
            "statistic": "per configuration, the mean step time of `steps` steps per repeat; "
            "median (and best) over repeats; configurations interleaved, order rotated per "
            "repeat. cpu_ms_per_step: the process's CPU time (all threads), less sensitive to "
            "other processes than wall time (spin-waiting threads count)",
            "infomax_vae": "alpha = 10, f-kl estimator, critic MLP 804-1000-400-100-1 with "
            "Adam(1e-4)",
            "optimizer": "Adam(1e-3) (ours and pythae)",
        },
        "headline": headline,
        "targets": TARGETS,
        "targets_reached": targets,
        "configurations": configurations,
        "matmul_limit": limit,
        "flops_formula": (
            "per layer with M forward multiply-adds per example: forward 2M + weight gradient 2M "
            "+ input gradient 2M (none where the input is data); critic x/z projections once, "
            "head on 2 rows (joint, permuted); 'algorithmic' counts the head's input-gradient "
            "chain once, 'as_implemented' twice (two backward passes). Element-wise ops, losses "
            "and Adam updates are not counted."
        ),
        "versions": {
            "python": platform.python_version(),
            "tensorflow": tf.__version__,
            "keras": keras.__version__,
            "tensorflow_probability": package_version("tensorflow-probability"),
            "tf_infomax": package_version("tf-infomax"),
            "numpy": np.__version__,
            "pythae_side": worker_info,
        },
        "machine": {
            "cpu_model": cpu_model(),
            "cpu_flags": cpu_flags(),
            "cpu_count": os.cpu_count(),
            "cpus_usable": len(os.sched_getaffinity(0)),
            "tf_intra_op_threads": threads,
            "tf_intra_op_threads_configured": threading.get_intra_op_parallelism_threads(),
            "tf_inter_op_threads_configured": threading.get_inter_op_parallelism_threads(),
            "torch_num_threads": threads if worker_info else None,
            "load_average_start": load_start,
            "load_average_end": load_average(),
            "busy_processes_start": busy_start,
            "busy_processes_end": busy_processes(),
            "note": "shared machine: a load average above the CPU count means the benchmark got "
            "only part of the CPU; configurations are interleaved so that comparisons within "
            "one run stay fair; 'best' figures are the least disturbed repeat.",
        },
        "wall_seconds": round(time.perf_counter() - started, 1),
    }
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(result, indent=2) + "\n")
    print_table(result)
    print(f"wrote {args.out} ({result['wall_seconds']:.0f} s)")
    return 0


def add_flop_rates(configurations: dict, limit: dict | None) -> None:
    """Achieved GFLOP/s (algorithmic count) and, for FC, the fraction of the matmul limit."""
    for key, entry in configurations.items():
        if key.startswith("ours/"):
            fpe = entry["flops_per_example"]["algorithmic"]
        else:  # pythae's VAE does the same work as our VAE of that architecture
            same = [k for k in configurations if k.startswith(f"ours/{entry['arch']}/vae/")]
            if not same:
                continue
            ours = configurations[same[0]]
            fpe = ours["flops_per_example"]["vae_part"]
        entry["gflops_median"] = round(entry["examples_per_s_median"] * fpe / 1e9, 2)
        entry["gflops_best"] = round(entry["examples_per_s_best"] * fpe / 1e9, 2)
        if limit is None:
            continue
        if entry["arch"] == "fc":
            lim = limit["limits"][entry["method"]]["limit_examples_per_s"]
            entry["fraction_of_matmul_limit_median"] = round(
                entry["examples_per_s_median"] / lim, 3
            )
            entry["fraction_of_matmul_limit_best"] = round(entry["examples_per_s_best"] / lim, 3)
        else:
            peak = limit["peak_gflops_measured"]
            entry["fraction_of_peak_matmul_gflops_median"] = round(entry["gflops_median"] / peak, 3)


def make_headline(configurations: dict, args, limit) -> dict:
    """Per arch: our best configuration per method, pythae's faster policy per loop, ratios."""
    headline = {}
    for arch in args.archs:
        row: dict = {}

        def best_of(prefix):
            keys = [k for k in configurations if k.startswith(prefix)]
            if not keys:
                return None
            key = max(keys, key=lambda k: configurations[k]["examples_per_s_median"])
            c = configurations[key]
            return {
                "configuration": key,
                "examples_per_s": c["examples_per_s_median"],
                "step_ms": c["step_ms_median"],
                "examples_per_s_best_repeat": c["examples_per_s_best"],
            }

        for method in METHODS:
            row[method] = best_of(f"ours/{arch}/{method}/")
        for loop in args.pythae_loops:
            found = best_of(f"pythae/{arch}/vae/{loop}/")
            if found:
                row[f"pythae_vae_{loop}"] = found
        ratios = {
            "infomax_vae_step_over_vae_step": ratio(
                row["infomax-vae"]["step_ms"], row["vae"]["step_ms"]
            )
        }
        variants = sorted({k.split("/", 3)[3] for k in configurations if k.startswith("ours/")})
        for variant in variants:
            ratios[f"infomax_vae_step_over_vae_step_{variant}"] = ratio(
                configurations[f"ours/{arch}/infomax-vae/{variant}"]["step_ms_median"],
                configurations[f"ours/{arch}/vae/{variant}"]["step_ms_median"],
            )
        for method in METHODS:
            for variant in variants:
                base = configurations[f"ours/{arch}/{method}/{variant}"]["step_ms_median"]
                mode, onednn = variant.split("/")
                if mode == "graph" and f"ours/{arch}/{method}/xla/{onednn}" in configurations:
                    xla = configurations[f"ours/{arch}/{method}/xla/{onednn}"]["step_ms_median"]
                    ratios[f"{method}_xla_speedup_{onednn}"] = ratio(base, xla)
                if onednn == "onednn-off" and f"ours/{arch}/{method}/{mode}/onednn-on" in (
                    configurations
                ):
                    on = configurations[f"ours/{arch}/{method}/{mode}/onednn-on"]["step_ms_median"]
                    ratios[f"{method}_onednn_speedup_{mode}"] = ratio(base, on)
        for loop in args.pythae_loops:
            if f"pythae_vae_{loop}" in row:
                p = row[f"pythae_vae_{loop}"]["examples_per_s"]
                ratios[f"infomax_vae_over_pythae_vae_{loop}"] = ratio(
                    row["infomax-vae"]["examples_per_s"], p
                )
                ratios[f"vae_over_pythae_vae_{loop}"] = ratio(row["vae"]["examples_per_s"], p)
        if limit is not None and arch == "fc":
            for method in METHODS:
                c = configurations[row[method]["configuration"]]
                name = method.replace("-", "_")
                ratios[f"{name}_fraction_of_matmul_limit"] = c["fraction_of_matmul_limit_median"]
                ratios[f"{name}_fraction_of_matmul_limit_best_repeat"] = c[
                    "fraction_of_matmul_limit_best"
                ]
        row["ratios"] = ratios
        headline[arch] = row
    return headline


def check_targets(headline: dict) -> dict:
    """The issue's targets, on the FC headline (medians); None where not measured."""
    if "fc" not in headline:
        return {}
    r = headline["fc"]["ratios"]
    vs_pythae = [v for k, v in r.items() if k.startswith("infomax_vae_over_pythae_vae_") and v]
    fraction = r.get("vae_fraction_of_matmul_limit")
    return {
        "infomax_vae_over_pythae_vae_ge_1.2 (vs the faster pythae loop)": (
            min(vs_pythae) >= TARGETS["infomax_vae_over_pythae_vae"] if vs_pythae else None
        ),
        "vae_ge_70pct_of_matmul_limit": (
            fraction >= TARGETS["vae_fraction_of_matmul_limit"] if fraction else None
        ),
        "infomax_vae_step_le_1.3x_vae_step": (
            r["infomax_vae_step_over_vae_step"] <= TARGETS["infomax_vae_step_over_vae_step_max"]
        ),
    }


def print_table(result: dict) -> None:
    print()
    header = f"{'configuration':38} {'examples/s':>10} {'best':>7} {'step ms':>8} {'GFLOP/s':>8}"
    print(header + f" {'of limit':>8}")
    for key, entry in result["configurations"].items():
        frac = entry.get("fraction_of_matmul_limit_median")
        gflops = entry.get("gflops_median")
        print(
            f"{key:38} {entry['examples_per_s_median']:10,.0f} "
            f"{entry['examples_per_s_best']:7,.0f} "
            f"{entry['step_ms_median']:8.1f} "
            f"{(f'{gflops:.1f}' if gflops is not None else '-'):>8} "
            f"{(f'{frac:.0%}' if frac is not None else '-'):>8}"
        )
    limit = result.get("matmul_limit")
    if limit:
        for method, lim in limit["limits"].items():
            print(
                f"matmul limit fc/{method}: {lim['limit_examples_per_s']:,.0f} examples/s "
                f"({lim['limit_gflops_weighted']} GFLOP/s over its GEMM shapes; best single "
                f"shape {limit['peak_gflops_measured']} GFLOP/s)"
            )
    for arch, row in result["headline"].items():
        print(f"{arch}: " + ", ".join(f"{k} {v}" for k, v in row["ratios"].items()))
    print(f"targets reached: {result['targets_reached']}")
    m = result["machine"]
    print(
        f"load average start {m['load_average_start']} end {m['load_average_end']} "
        f"on {m['cpus_usable']} CPUs ({m['cpu_model']})"
    )


if __name__ == "__main__":
    sys.exit(main())
