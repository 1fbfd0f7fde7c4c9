"""pythae's side, seen from the driver: its virtualenv and its workers.

pythae 0.1.2 ``VAE`` (PyTorch 2.13 CPU) with the same encoder/decoder, Bernoulli likelihood,
Adam(1e-3), same batch, ``torch.set_num_threads`` = TF's intra-op threads, runs in its own
virtualenv (created on first use) as a subprocess (``benchmarks/train_throughput_pythae.py``),
one worker per OMP_WAIT_POLICY, both through pythae's ``BaseTrainer`` epoch loop and through a
plain forward/backward/step loop over the model.
"""

from __future__ import annotations

import pathlib
import shutil
import subprocess
import sys
import tempfile

import numpy as np

from .protocol import JsonWorker, RemoteRun
from .timing import log

ROOT = pathlib.Path(__file__).resolve().parents[2]
WORKER = ROOT / "benchmarks" / "train_throughput_pythae.py"
VENV = ROOT / "runs" / ".venv-pythae"  # runs/ is gitignored
REQUIREMENTS = ("torch==2.13.0", "pythae==0.1.2")


def ensure_venv(venv: pathlib.Path) -> pathlib.Path:
    """The virtualenv's python, creating the venv with torch==2.13.0 and pythae if missing."""
    python = venv / "bin" / "python"
    check = [
        str(python),
        "-c",
        "import torch, pythae; assert torch.__version__.startswith('2.13.0')",
    ]
    if python.exists() and subprocess.run(check, capture_output=True).returncode == 0:
        return python
    print(f"creating {venv} ({', '.join(REQUIREMENTS)}) ...", flush=True)
    base = shutil.which("python3") or sys.executable
    subprocess.run([base, "-m", "venv", "--clear", str(venv)], check=True)
    subprocess.run([str(python), "-m", "pip", "install", "--quiet", *REQUIREMENTS], check=True)
    subprocess.run(check, check=True)
    return python


def start_worker(python, images_path, threads, inter, batch, wait=None) -> JsonWorker:
    command = [str(python), str(WORKER), "--images", images_path]
    command += ["--threads", str(threads), "--batch-size", str(batch)]
    if inter:
        command += ["--interop-threads", str(inter)]
    env = {"OMP_WAIT_POLICY": wait.upper()} if wait else {}
    return JsonWorker(f"pythae (OMP_WAIT_POLICY={wait or 'unset'})", command, env)


def setup(args, images, threads, started, workers: list) -> tuple[dict, dict, dict, str]:
    """Workers (one per OMP wait policy, appended to ``workers`` as they start, for the caller
    to close) and their runs, info and versions; the images go through a .npy file."""
    python = ensure_venv(args.pythae_venv)
    if args.steps * args.batch_size > len(images):
        raise SystemExit("--steps x --batch-size exceeds the images for pythae's trainer")
    with tempfile.NamedTemporaryFile(prefix="fmnist-", suffix=".npy", delete=False) as handle:
        np.save(handle, np.ascontiguousarray(images.transpose(0, 3, 1, 2)))  # NCHW for PyTorch
    runs, info, worker_info = {}, {}, {}
    policies = (
        ("default", "passive")
        if args.pythae_omp_wait_policy == "both"
        else (args.pythae_omp_wait_policy,)
    )
    for policy in policies:
        worker = start_worker(
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
    return runs, info, worker_info, handle.name
