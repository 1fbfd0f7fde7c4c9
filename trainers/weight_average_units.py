"""Active units of the raw weights and of their moving average, epoch by epoch, in one training.

Issue 12 asks InfoMax-VAE for 5 more active units (eq. 7, epsilon 0.01) than VAE. f-KL runs
without the moving average (``--no-use-ema``) count 18-20, runs with it 5-10, as VAE. This
trains one run of an experiment as the study does (``tf_infomax.training.train``) and, after
every epoch, measures the encoder twice on the test split: with the weights the optimizer steps
(``raw``) and with their moving average (``average``, Keras ``use_ema``: what validation, the
saved model and the study's evaluation use). Per latent dimension d it records

* ``variances``: Var_x(E_q[z_d | x]), the statistic of eq. 7;
* ``posterior_variances``: E_x[sigma_d^2(x)];
* ``gaussian_bound``: 0.5 log(Var(z_d)) - 0.5 E_x[log sigma_d^2(x)] >= I(x; z_d), nats (the
  entropy of z_d is at most that of a Gaussian of its variance);
* ``kl``: E_x KL(q(z_d | x) || N(0, 1)), nats;
* ``ablation_cost``: how much the reconstruction -log p(x | z = mean) of ``--ablation-images``
  test images rises when z_d is replaced by its mean over x (nats): what the decoder reads in d.

    python -m trainers.weight_average_units --experiment fashion_mnist_tables \\
        --run infomax-vae_d2_s0 --root runs/weight_average_units \\
        --out docs/results/weight_average_units.json

Resumable: an interrupted training resumes from its backup, and the epochs already measured
stay in ``--out`` (rows of other runs are kept).
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import keras
import numpy as np
import tensorflow as tf

from tf_infomax.metrics.active_units import PAPER_THRESHOLD, latent_variances
from tf_infomax.runs import write_json

THRESHOLD = 0.01


def encoder_statistics(model, images: np.ndarray, ablation_images: int) -> dict:
    """The per-dimension statistics of the module docstring for the model's current weights."""
    means, log_vars = [], []
    for start in range(0, len(images), 500):
        mean, log_var = model.encode(images[start : start + 500])
        means.append(mean.numpy())
        log_vars.append(log_var.numpy())
    mean, log_var = np.concatenate(means).astype(np.float64), np.concatenate(log_vars)
    log_var = log_var.astype(np.float64)
    variances = latent_variances(mean)
    posterior_variances = np.exp(log_var).mean(axis=0)
    bound = 0.5 * np.log(variances + posterior_variances) - 0.5 * log_var.mean(axis=0)
    kl = 0.5 * (mean**2 + np.exp(log_var) - log_var - 1).mean(axis=0)
    x = tf.constant(images[:ablation_images])
    z = mean[:ablation_images]

    def reconstruction(codes: np.ndarray) -> float:
        return float(-tf.reduce_mean(model.decode(tf.constant(codes, tf.float32)).log_prob(x)))

    base = reconstruction(z)
    cost = []
    for d in range(z.shape[1]):
        ablated = z.copy()
        ablated[:, d] = mean[:, d].mean()
        cost.append(reconstruction(ablated) - base)
    rounded = lambda a: [round(float(v), 6) for v in a]  # noqa: E731
    return {
        "active_units": int(np.sum(variances >= THRESHOLD)),
        "active_units_paper_threshold": int(np.sum(variances >= PAPER_THRESHOLD)),
        "reconstruction_at_mean": round(base, 4),
        "kl_total": round(float(kl.sum()), 4),
        "variances": rounded(variances),
        "posterior_variances": rounded(posterior_variances),
        "gaussian_bound": rounded(bound),
        "kl": rounded(kl),
        "ablation_cost": rounded(cost),
    }


def _averaged(optimizer):
    """(model variables, their moving averages) of a ``use_ema`` optimizer."""
    inner = getattr(optimizer, "inner_optimizer", optimizer)
    if not getattr(inner, "use_ema", False):
        raise ValueError("The run's VAE optimizer keeps no moving average (--use-ema).")
    return inner._trainable_variables, inner._model_variables_moving_average


class RawAndAverage(keras.callbacks.Callback):
    """After each epoch, ``encoder_statistics`` of the raw weights and of their average."""

    def __init__(self, run: str, images: np.ndarray, out: Path, ablation_images: int):
        super().__init__()
        self.run, self.images, self.out, self.ablation_images = run, images, out, ablation_images

    def on_epoch_end(self, epoch, logs=None):
        variables, averages = _averaged(self.model.optimizer)
        raw = [v.numpy() for v in variables]
        rows = [{"run": self.run, "epoch": epoch + 1, "weights": "raw"}]
        rows[0].update(encoder_statistics(self.model, self.images, self.ablation_images))
        try:
            for v, a in zip(variables, averages, strict=True):
                v.assign(a)
            row = {"run": self.run, "epoch": epoch + 1, "weights": "average"}
            rows.append(row | encoder_statistics(self.model, self.images, self.ablation_images))
        finally:
            for v, value in zip(variables, raw, strict=True):
                v.assign(value)
        kept = [
            r
            for r in (json.loads(self.out.read_text()) if self.out.exists() else [])
            if (r["run"], r["epoch"]) != (self.run, epoch + 1)
        ]
        write_json(self.out, kept + rows)
        for r in rows:
            print(
                f"epoch {epoch + 1} {r['weights']:>7}: AU {r['active_units']} "
                f"(0.05: {r['active_units_paper_threshold']}), rec. {r['reconstruction_at_mean']}"
            )


def main(argv: list[str] | None = None) -> int:
    from tf_infomax.metrics.evaluate import evaluation_data
    from tf_infomax.training import train
    from trainers.study import experiment_configs

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--experiment", default="fashion_mnist_tables")
    parser.add_argument("--run", default="infomax-vae_d2_s0", help="a run of the experiment")
    parser.add_argument("--root", type=Path, default=Path("runs/weight_average_units"))
    parser.add_argument("--out", type=Path, required=True)
    parser.add_argument("--ablation-images", type=int, default=2000)
    parser.add_argument("--smoke", action="store_true", help="the experiment's tiny variant")
    args = parser.parse_args(argv)
    configs = experiment_configs(args.experiment, args.smoke)
    if args.run not in configs:
        parser.error(f"--run {args.run!r} is not a run of {args.experiment}: {sorted(configs)}")
    config = configs[args.run]
    test = evaluation_data(config, "test", batch_size=500, limit=None)
    images = np.concatenate([batch[0].numpy() for batch in test])
    callback = RawAndAverage(args.run, images, args.out, args.ablation_images)
    train(config, args.root / args.run, callbacks=[callback], verbose=2)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
