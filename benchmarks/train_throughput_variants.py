"""Prototypes of model-code optimizations for the InfoMax-VAE train step, measured side by side.

Not part of the package: each variant subclasses ``InfoMaxVAE`` here so that its gain can be
measured before anyone changes ``tf_infomax/models/infomax_vae.py``. Every variant computes the
same gradients as the baseline (checked here on one batch, up to float32 rounding).

Variants:

* ``baseline``: ``tf_infomax.build_model(method)`` as it is (default optimizers: FusedAdam).
* ``keras_adam``: the same model compiled with ``keras.optimizers.Adam`` (same learning rates
  and clipping): what the fused Adam kernel saves (tests/test_optimizers.py shows both make the
  same updates).
* ``one_backward``: one ``tape.gradient`` instead of two. The baseline differentiates the VAE
  loss (recon + KL - alpha * I) w.r.t. the encoder/decoder and the critic loss (-I) w.r.t. the
  critic in two backward passes, which run the critic head's backward chain twice. Here one
  target ``recon + KL - I(theta_c, s(z))`` is differentiated w.r.t. all variables at once, where
  ``s`` is the identity whose gradient is multiplied by alpha: d/d theta_c = -dI/d theta_c (the
  critic's gradient) and d/d theta_vae = d(recon + KL)/d theta_vae - alpha dI/dz dz/d theta_vae
  (the VAE's gradient), exactly the baseline's two gradients.

Usage:

    python benchmarks/train_throughput_variants.py [--steps 20] [--repeats 5] [--xla both]
        [--methods infomax-vae,vae]

Writes ``benchmarks/results/train_throughput_variants.json``.
"""

from __future__ import annotations

import argparse
import datetime
import itertools
import json
import os
import pathlib
import sys

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
os.environ.setdefault("TF_ENABLE_ONEDNN_OPTS", "1")  # the faster setting here (see docs)

import keras  # noqa: E402
import numpy as np  # noqa: E402
import tensorflow as tf  # noqa: E402
from machine import load_average  # noqa: E402  (benchmarks/machine.py)
from step_timer import timed_fit  # noqa: E402  (benchmarks/step_timer.py)
from throughput import ours  # noqa: E402  (benchmarks/throughput/: shared with train_throughput.py)
from throughput.timing import interleave, step_ms  # noqa: E402

import tf_infomax  # noqa: E402
from tf_infomax.config import CRITIC_CLIPNORM  # noqa: E402
from tf_infomax.models.infomax_vae import InfoMaxVAE, Terms  # noqa: E402
from tf_infomax.objectives.mmd import mmd  # noqa: E402

RESULTS = pathlib.Path(__file__).parent / "results" / "train_throughput_variants.json"


def scale_gradient(x: tf.Tensor, factor: float) -> tf.Tensor:
    """The identity, whose gradient is multiplied by ``factor``."""

    @tf.custom_gradient
    def identity(t):
        return tf.identity(t), lambda dy: dy * factor

    return identity(x)


class OneBackwardInfoMaxVAE(InfoMaxVAE):
    """InfoMaxVAE whose VAE and critic gradients come from one backward pass."""

    def _gradients(self, x, noise, replicas):
        if self.critic is None:
            return super()._gradients(x, noise, replicas)
        variables = self._vae_variables + self.critic.trainable_variables
        with tf.GradientTape() as tape:
            mean, log_var = self.encode(x, training=True)
            z = mean + tf.exp(0.5 * log_var) * noise.epsilon
            q_z = tf_infomax.distributions.posterior(mean, log_var)
            reconstruction = -tf.reduce_mean(self.decode(z, x, training=True).log_prob(x))
            kl = tf.reduce_mean(q_z.kl_divergence(self.prior))
            elbo_loss = reconstruction + self.beta * kl
            divergence = tf.zeros((), elbo_loss.dtype)
            if self.mmd_weight > 0:
                divergence = mmd(z, noise.prior_samples)
                elbo_loss += self.mmd_weight * divergence
            z_for_critic = scale_gradient(z, self.alpha)
            if self.estimator.uses_score_matrix:
                estimate = self.estimator.fn(self.critic.score_matrix(x, z_for_critic))
            else:
                scores = self.critic.joint_and_marginal(x, z_for_critic, noise.permutation)
                estimate = self.estimator.fn(*scores)
            mi, critic_objective = estimate.mi, estimate.critic_objective
            target = (elbo_loss - critic_objective) / replicas
        grads = tape.gradient(target, variables)
        n = len(self._vae_variables)
        loss = elbo_loss - self.alpha * critic_objective
        terms = Terms(loss, reconstruction, kl, divergence, mi, critic_objective)
        return terms, grads[:n], grads[n:]


VARIANTS = {"baseline": InfoMaxVAE, "keras_adam": InfoMaxVAE, "one_backward": OneBackwardInfoMaxVAE}
CODE_VARIANTS = ("one_backward",)  # change the gradient code: checked against the baseline


def build_variant(variant: str, arch: str, method: str = "infomax-vae") -> InfoMaxVAE:
    model = ours.build(arch, method)
    if VARIANTS[variant] is InfoMaxVAE:
        return model
    return VARIANTS[variant].from_config(model.get_config())


def compile_variant(model: InfoMaxVAE, variant: str, jit: bool) -> None:
    if variant != "keras_adam":
        model.compile(jit_compile=jit)
        return
    critic = keras.optimizers.Adam(1e-4, global_clipnorm=CRITIC_CLIPNORM)
    model.compile(
        optimizer=keras.optimizers.Adam(
            1e-3, global_clipnorm=model.clipnorm_by_default, use_ema=model.ema_by_default
        ),
        critic_optimizer=critic if model.critic is not None else None,
        jit_compile=jit,
    )


def check_same_gradients(arch: str, batch: tf.Tensor) -> dict:
    """Max relative difference between each variant's gradients and the baseline's."""
    base = build_variant("baseline", arch)
    base.compile()
    noise = base.draw_noise(batch.shape[0], (0, 1))
    _, ref, ref_c = base._gradients(batch, noise, 1)
    out = {}
    for variant in CODE_VARIANTS:
        other = build_variant(variant, arch)
        other.compile()
        for src, dst in zip(base.weights, other.weights, strict=True):
            dst.assign(src)
        _, grads, grads_c = other._gradients(batch, noise, 1)
        worst = 0.0
        for a, b in zip(ref + ref_c, grads + grads_c, strict=True):
            scale = float(tf.reduce_max(tf.abs(a))) or 1.0
            worst = max(worst, float(tf.reduce_max(tf.abs(a - b))) / scale)
        out[variant] = worst
    return out


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=20)
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--warmup-steps", type=int, default=3)
    parser.add_argument("--archs", default="fc")
    parser.add_argument("--xla", default="both", choices=("both", "on", "off"))
    parser.add_argument("--methods", default="infomax-vae", help="comma list of methods")
    parser.add_argument("--variants", default=",".join(VARIANTS), help="comma list")
    parser.add_argument("--out", type=pathlib.Path, default=RESULTS)
    args = parser.parse_args(argv)
    load_start = load_average()
    dataset = ours.training_dataset("load", batch=100, limit=None)
    batch = next(iter(dataset))[0]
    xla_modes = {"both": (False, True), "on": (True,), "off": (False,)}[args.xla]
    archs, methods = args.archs.split(","), args.methods.split(",")
    variants = ["baseline"] + [v for v in args.variants.split(",") if v != "baseline"]
    unknown = set(variants) - set(VARIANTS)
    if unknown:
        parser.error(f"unknown variants {sorted(unknown)}; choose from {list(VARIANTS)}")

    checks = {}
    if "infomax-vae" in methods and any(v in CODE_VARIANTS for v in variants):
        checks = {arch: check_same_gradients(arch, batch) for arch in archs}
    print("max relative gradient difference vs baseline:", checks, flush=True)

    models = {}
    for arch, method, variant, jit in itertools.product(archs, methods, variants, xla_modes):
        if variant in CODE_VARIANTS and method != "infomax-vae":
            continue  # the code variants change only the critic's part of the step
        key = f"{arch}/{method}/{variant}/{'xla' if jit else 'graph'}"
        model = build_variant(variant, arch, method)
        compile_variant(model, variant, jit)
        model.fit(dataset, epochs=1, steps_per_epoch=args.warmup_steps, verbose=0)
        models[key] = model
        print("warmed up", key, flush=True)

    def progress(repeat, seconds):
        done = ", ".join(f"{k} {s[-1][0] / args.steps * 1e3:.0f} ms" for k, s in seconds.items())
        print(f"repeat {repeat + 1}: " + done)

    measures = {k: lambda m=m: timed_fit(m, dataset, args.steps) for k, m in models.items()}
    seconds = interleave(measures, args.repeats, progress)
    results = {k: step_ms([wall / args.steps for wall, _ in s]) for k, s in seconds.items()}
    speedups = {}
    for key, other in results.items():
        arch, method, variant, mode = key.split("/")
        if variant == "baseline":
            continue
        base = results[f"{arch}/{method}/baseline/{mode}"]
        speedups[key] = {
            "median": round(base["step_ms_median"] / other["step_ms_median"], 3),
            "best": round(base["step_ms_best"] / other["step_ms_best"], 3),
        }
    out = {
        "benchmark": "train-step variants (prototypes and optimizer; same gradients/updates)",
        "command": "python benchmarks/train_throughput_variants.py " + " ".join(sys.argv[1:]),
        "date_utc": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
        "steps": args.steps,
        "repeats": args.repeats,
        "max_relative_gradient_difference": checks,
        "results": results,
        "speedup_over_baseline": speedups,
        "load_average_start": load_start,
        "load_average_end": load_average(),
        "tensorflow": tf.__version__,
        "tf_enable_onednn_opts": os.environ.get("TF_ENABLE_ONEDNN_OPTS"),
        "numpy": np.__version__,
    }
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(out, indent=2) + "\n")
    print(json.dumps(speedups, indent=1))
    print(f"wrote {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
