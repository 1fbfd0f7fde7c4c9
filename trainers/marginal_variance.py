"""How much K marginal partners per example calm the f-KL bound's marginal term, at fixed weights.

At a run's weights (``backup/`` of a run that diverged, i.e. the epoch before it; else its
``model.keras``) this scores the same training batches, with the same reparameterisation
noise, for each K of ``--samples`` (``marginal_samples``; K's first derangement is K = 1's):

* ``marginal_term``: E_marginal[exp(t - 1)] of eq. 6 over the batch's K * B marginal pairs;
* ``grad_mi``: the norm of the MI term's gradient at the encoder's output,
  d(-alpha * bound)/d(mean, log-variance) (the training diagnostic of the same name);
* ``mi_grad_norm``: the norm of that term's gradient over all encoder weights (what
  ``--mi-clipnorm`` clips).

and reports their mean, standard deviation, 99th percentile and maximum over the batches.
Nothing is trained: it measures the estimator's spread, not a trajectory::

    python -m trainers.marginal_variance runs/fashion_mnist_convergence/infomax-vae-clip_d2_s0 \\
        --samples 1 4 16 --batches 550 --out docs/results/marginal_variance.json
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import numpy as np

QUANTITIES = ("marginal_term", "grad_mi", "mi_grad_norm")


def _model(run_dir: Path, image_shape: tuple):
    """The run's model: the weights of ``backup/`` if the run diverged, else ``model.keras``."""
    from tf_infomax.runs import RunDir
    from tf_infomax.training import make_model

    run = RunDir(run_dir)
    backup = run_dir / "backup" / "latest.weights.h5"
    if (run_dir / "diverged.json").exists() and backup.exists():
        model = make_model(run.config(), image_shape, steps_per_epoch=1)
        model.optimizer.build(model._vae_variables)
        model.load_weights(backup)
        return model, "backup (the epoch before the divergence)"
    return run.model(), "model.keras"


def _batch_values(model, x, samples: int, index: int) -> dict[str, float]:
    """The three quantities on one batch with ``samples`` derangements (seeded by ``index``)."""
    import tensorflow as tf

    from tf_infomax.models.infomax_vae import Noise
    from tf_infomax.objectives.mi_estimators import marginal_permutation

    batch = int(x.shape[0])
    epsilon = tf.random.stateless_normal([batch, model.latent_dim], seed=[7, index])
    blocks = [marginal_permutation(batch, tf.constant([11 + k, index])) for k in range(samples)]
    noise = Noise(epsilon, tf.zeros_like(epsilon), tf.concat(blocks, axis=0))
    encoder_weights = model.encoder.trainable_variables
    with tf.GradientTape(persistent=True) as tape:
        forward = model._forward(x, training=True, noise=noise)
        mi_loss = -model.alpha * forward.terms.critic_objective
    _, marginal = forward.scores
    return {
        "marginal_term": float(tf.reduce_mean(tf.exp(marginal - 1.0))),
        "grad_mi": float(tf.norm(tape.gradient(mi_loss, forward.encoder_output))),
        "mi_grad_norm": float(tf.linalg.global_norm(tape.gradient(mi_loss, encoder_weights))),
    }


def _summary(values: list[float]) -> dict[str, float]:
    array = np.asarray(values)
    return {
        "mean": round(float(array.mean()), 4),
        "sd": round(float(array.std()), 4),
        "p99": round(float(np.percentile(array, 99)), 4),
        "max": round(float(array.max()), 4),
    }


def measure(run_dir: Path, samples: list[int], batches: int, batch_size: int = 100) -> dict:
    """One row: per K, the summaries of ``QUANTITIES`` over ``batches`` training batches."""
    from tf_infomax.metrics.evaluate import evaluation_data
    from tf_infomax.training import load_config

    config = load_config(run_dir)
    data = evaluation_data(
        config, config.data.train_split, batch_size=batch_size, limit=batches * batch_size
    )
    model, weights = _model(run_dir, tuple(data.element_spec[0].shape[1:]))
    if model.critic is None or model.estimator.uses_score_matrix:
        raise SystemExit(f"{run_dir}: needs a critic with (joint, marginal) pairs.")
    started = time.perf_counter()
    per_k: dict[int, dict[str, list[float]]] = {k: {q: [] for q in QUANTITIES} for k in samples}
    for index, (x, _) in enumerate(data):
        if int(x.shape[0]) < batch_size:
            break
        for k in samples:
            model.marginal_samples = k
            for name, value in _batch_values(model, x, k, index).items():
                per_k[k][name].append(value)
    return {
        "run": run_dir.name,
        "weights": weights,
        "estimator": config.model.estimator,
        "decoder_layers": config.model.decoder_layers,
        "seed": config.seed,
        "alpha": model.alpha,
        "batches": len(per_k[samples[0]]["grad_mi"]),
        "batch_size": batch_size,
        "seconds": round(time.perf_counter() - started, 1),
        "samples": {
            str(k): {name: _summary(values) for name, values in per_k[k].items()} for k in samples
        },
    }


def main(argv: list[str] | None = None) -> int:
    from trainers.reestimate import write_rows

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("runs", nargs="+", type=Path, help="run directories")
    parser.add_argument("--samples", type=int, nargs="+", default=[1, 4, 16], help="values of K")
    parser.add_argument("--batches", type=int, default=550, help="training batches scored")
    parser.add_argument("--out", type=Path, required=True, help="JSON file to write")
    args = parser.parse_args(argv)
    if any(k < 1 for k in args.samples) or args.batches < 1:
        parser.error("--samples values and --batches must be >= 1")
    missing = [str(r) for r in args.runs if not (r / "config.json").exists()]
    if missing:
        parser.error(f"not run directories (no config.json): {missing}")
    rows = [measure(run, args.samples, args.batches) for run in args.runs]
    write_rows(args.out, rows)
    for row in rows:
        for k, summary in row["samples"].items():
            shown = ", ".join(
                f"{q} sd {s['sd']:.3g} max {s['max']:.3g}" for q, s in summary.items()
            )
            print(f"{row['run']} K={k}: {shown}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
