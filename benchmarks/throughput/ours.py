"""Our side: ``build_model("vae" | "infomax-vae", arch=...)`` (InfoMax-VAE: alpha = 10, critic
and its second optimizer on) trained with ``model.fit`` exactly as users train it, on real
Fashion-MNIST (``tf_infomax.data.load``), compiled with and without XLA (``jit_compile=True`` /
``False``; ``False`` is what ``"auto"`` means on CPU).

Each measurement is one ``fit`` call of ``steps + 1`` steps; the time from the end of its first
step to the end of its last is the time of ``steps`` steps (``step_timer.timed_fit``: the
iterator start and shuffle-buffer fill of a new ``fit`` call are left out; the pipeline's work
during the steps is in).
"""

from __future__ import annotations

import os
import time

import keras
import numpy as np
import tensorflow as tf
from step_timer import timed_fit  # benchmarks/step_timer.py

import tf_infomax
from tf_infomax import data
from tf_infomax.models import method_weights

from .flops import flops_per_example, prod
from .protocol import RemoteRun
from .timing import log

METHODS = ("vae", "infomax-vae")
LATENT_DIM = 20
IMAGE_SHAPE = (28, 28, 1)


def build(arch: str, method: str):
    """Our model of ``method`` on ``arch`` (Fashion-MNIST shapes), from random seed 0."""
    keras.utils.set_random_seed(0)
    return tf_infomax.build_model(method, image_shape=IMAGE_SHAPE, latent_dim=LATENT_DIM, arch=arch)


def effective_intra_op_threads() -> int:
    configured = tf.config.threading.get_intra_op_parallelism_threads()
    return configured or len(os.sched_getaffinity(0))


def images_in_memory(limit, data_dir=None) -> np.ndarray:
    """All train images (N, 28, 28, 1) float32 in [0, 1], in file order."""
    ds = data.load(
        "fashion_mnist",
        "train",
        batch_size=1000,
        shuffle=False,
        limit=limit,
        include_labels=False,
        data_dir=data_dir,
        cache=False,
    )
    return np.concatenate([b.numpy() for b in ds])


def training_dataset(pipeline: str, batch: int, limit, images=None, data_dir=None):
    """load: ``tf_infomax.data.load`` as training uses it; memory: ``images`` as one in-memory
    tensor, shuffled and batched (isolates the input pipeline's cost)."""
    if pipeline == "load":
        return data.load(
            "fashion_mnist",
            "train",
            batch_size=batch,
            seed=0,
            limit=limit,
            repeat=True,
            data_dir=data_dir,
        )
    ds = tf.data.Dataset.from_tensor_slices(images)
    ds = ds.shuffle(len(images), seed=0, reshuffle_each_iteration=True).repeat()
    return ds.batch(batch, drop_remainder=True).prefetch(tf.data.AUTOTUNE)


class OurRun:
    """One of our configurations: a compiled model and its dataset."""

    def __init__(self, arch, method, jit, dataset, steps, warmup):
        self.model = build(arch, method)
        self.model.compile(jit_compile=jit)
        self.dataset, self.steps = dataset, steps
        start = time.perf_counter()
        timed_fit(self.model, dataset, warmup)
        self.warmup_seconds = time.perf_counter() - start
        self.flops = flops_per_example(self.model)
        self.parameters = {
            "vae": sum(prod(v.shape) for v in self.model._vae_variables),
            "critic": (
                sum(prod(v.shape) for v in self.model.critic.trainable_variables)
                if self.model.critic is not None
                else 0
            ),
        }

    def run(self) -> tuple[float, float]:
        """(wall seconds, process CPU seconds) of ``steps`` steps."""
        return timed_fit(self.model, self.dataset, self.steps)


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


def setup(args, xla_modes, dataset, local_onednn: bool, tf_remote, started) -> tuple[dict, dict]:
    """Our configurations: in this process, and (other oneDNN setting) in ``tf_remote``."""
    runs, info = {}, {}
    settings = [local_onednn] + ([not local_onednn] if tf_remote is not None else [])
    for arch in args.archs:
        for method in METHODS:
            for jit in xla_modes:
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
