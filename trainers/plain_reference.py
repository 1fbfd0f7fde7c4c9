"""A plain TensorFlow implementation of Algorithm 1, written from the paper without the package.

It is the control of issue 12: the same Table 5 FC networks (4 x 1000 LeakyReLU(0.2)), the
authors' critic MLP on [flatten(x), z] (1000 -> 400 -> 100 -> 1, ReLU), the f-KL bound of eq. 6
with a permuted batch, Adam 1e-3 (VAE) and 1e-4 (critic), batch 100, alpha 10, beta 1, no score
bound, no gradient clipping, no log-variance floor; the exponent of exp(t - 1) is clamped at
``--clamp`` (tf.minimum: no gradient above it) so that it stays finite. Only the data reader is
shared with ``tf_infomax``. Each epoch logs the training terms' means, the lowest batch MI bound,
the largest scores, how often the clamp bound, and the -ELBO of the first 2,000 test images::

    python -m trainers.plain_reference --epochs 10 --seed 0 --out docs/results/plain_reference.json

adds the run to the results file; ``--report docs/results/plain_reference.md --out
docs/results/plain_reference.json`` writes its tables (docs/results/plain_reference_notes.md
reads them). ``--alpha 0``
trains the VAE of the same script; ``--torch-defaults`` uses PyTorch's initialisation,
LeakyReLU slope and Adam epsilon.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import time

import keras
import numpy as np
import tensorflow as tf

from tf_infomax.data.fashion_mnist_local import default_source_dir, read_split


def networks(
    latent: int,
    depth: int,
    units: int = 1000,
    critic_units: tuple[int, ...] = (1000, 400, 100),
    pixels: int = 784,
    torch_defaults: bool = False,
) -> tuple[keras.Model, keras.Model, keras.Model]:
    """Encoder x -> (mean, log-variance), decoder z -> logits, critic [x, z] -> score.

    ``torch_defaults``: PyTorch's defaults instead of Keras' (``nn.Linear``'s uniform
    +-1/sqrt(fan_in) weights and biases instead of Glorot weights and zero biases;
    ``nn.LeakyReLU``'s slope 0.01 instead of 0.2).
    """
    slope = 0.01 if torch_defaults else 0.2

    def dense(out: int, fan_in: int, activation=None) -> keras.layers.Dense:
        if not torch_defaults:
            return keras.layers.Dense(out, activation=activation)
        limit = fan_in**-0.5
        return keras.layers.Dense(
            out,
            activation=activation,
            kernel_initializer=keras.initializers.RandomUniform(-limit, limit),
            bias_initializer=keras.initializers.RandomUniform(-limit, limit),
        )

    def stack(fan_in: int, depth_: int) -> list:
        layers: list = []
        for _ in range(depth_):
            layers += [dense(units, fan_in), keras.layers.LeakyReLU(negative_slope=slope)]
            fan_in = units
        return layers

    def last(depth_: int, fan_in: int) -> int:
        return units if depth_ else fan_in

    encoder = keras.Sequential(
        [keras.Input((pixels,)), *stack(pixels, 4), dense(2 * latent, last(4, pixels))]
    )
    decoder = keras.Sequential(
        [keras.Input((latent,)), *stack(latent, depth), dense(pixels, last(depth, latent))]
    )
    widths = (pixels + latent, *critic_units)
    critic = keras.Sequential(
        [keras.Input((pixels + latent,))]
        + [dense(u, fan_in, "relu") for fan_in, u in zip(widths, critic_units, strict=False)]
        + [dense(1, widths[-1])]
    )
    return encoder, decoder, critic


def terms(encoder, decoder, critic, x, clamp: float | None, epsilon=None, permutation=None):
    """Reconstruction, KL, the f-KL bound and the critic's scores of one batch (eq. 1, 6).

    ``epsilon`` (reparameterisation noise) and ``permutation`` (marginal partners) are drawn
    here unless given.
    """
    mean, log_var = tf.split(encoder(x), 2, axis=-1)
    if epsilon is None:
        epsilon = tf.random.normal(tf.shape(mean))
    if permutation is None:
        permutation = tf.random.shuffle(tf.range(tf.shape(mean)[0]))
    z = mean + tf.exp(0.5 * log_var) * epsilon
    logits = decoder(z)
    rec = tf.reduce_mean(
        tf.reduce_sum(tf.nn.sigmoid_cross_entropy_with_logits(labels=x, logits=logits), -1)
    )
    kl = tf.reduce_mean(
        tf.reduce_sum(0.5 * (tf.square(mean) + tf.exp(log_var) - log_var - 1.0), -1)
    )
    z_marginal = tf.gather(z, permutation)
    joint = tf.squeeze(critic(tf.concat([x, z], -1)), -1)
    marginal = tf.squeeze(critic(tf.concat([x, z_marginal], -1)), -1)
    exponent = marginal - 1.0 if clamp is None else tf.minimum(marginal - 1.0, clamp)
    mi = tf.reduce_mean(joint) - tf.reduce_mean(tf.exp(exponent))
    clamped = (
        tf.zeros(())
        if clamp is None
        else tf.reduce_mean(tf.cast(marginal - 1.0 > clamp, tf.float32))
    )
    return rec, kl, mi, joint, marginal, clamped, log_var


def main(argv: list[str] | None = None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--epochs", type=int, default=10)
    parser.add_argument("--alpha", type=float, default=10.0)
    parser.add_argument("--beta", type=float, default=1.0)
    parser.add_argument("--depth", type=int, default=4, help="decoder hidden layers")
    parser.add_argument("--latent", type=int, default=20)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--clamp", type=float, default=50.0, help="<= 0: no clamp")
    parser.add_argument("--critic-lr", type=float, default=1e-4)
    parser.add_argument(
        "--torch-defaults",
        action="store_true",
        help="PyTorch's initialisation, LeakyReLU slope (0.01) and Adam epsilon (1e-8)",
    )
    parser.add_argument("--steps-per-epoch", type=int, default=None, help="for smoke tests")
    parser.add_argument("--source-dir", default=default_source_dir())
    parser.add_argument(
        "--out", default=None, help="JSON results file (a list of runs; this run is added)"
    )
    parser.add_argument(
        "--report", default=None, help="write this Markdown file from --out and exit, no training"
    )
    args = parser.parse_args(argv)
    if args.report:
        with open(args.out) as f:
            text = "\n".join(report(json.load(f), args.out)) + "\n"
        with open(f"{args.report}.tmp", "w") as f:
            f.write(text)
        os.replace(f"{args.report}.tmp", args.report)
        print(f"wrote {args.report}")
        return {}
    clamp = args.clamp if args.clamp > 0 else None
    keras.utils.set_random_seed(args.seed)

    train, _ = read_split(args.source_dir, "train")
    test, _ = read_split(args.source_dir, "test")
    train = train.reshape(len(train), -1).astype("float32") / 255.0
    test = test[:2000].reshape(2000, -1).astype("float32") / 255.0
    batches = tf.data.Dataset.from_tensor_slices(train).shuffle(60000, seed=args.seed).batch(100)
    if args.steps_per_epoch:
        batches = batches.take(args.steps_per_epoch)

    encoder, decoder, critic = networks(args.latent, args.depth, torch_defaults=args.torch_defaults)
    vae_vars = encoder.trainable_variables + decoder.trainable_variables
    epsilon = 1e-8 if args.torch_defaults else 1e-7
    vae_opt = keras.optimizers.Adam(1e-3, epsilon=epsilon)
    critic_opt = keras.optimizers.Adam(args.critic_lr, epsilon=epsilon)
    vae_opt.build(vae_vars)
    critic_opt.build(critic.trainable_variables)

    @tf.function
    def step(x):
        with tf.GradientTape(persistent=True) as tape:
            rec, kl, mi, joint, marginal, clamped, log_var = terms(
                encoder, decoder, critic, x, clamp
            )
            loss = rec + args.beta * kl - args.alpha * mi
            critic_loss = -mi
        vae_opt.apply_gradients(zip(tape.gradient(loss, vae_vars), vae_vars, strict=True))
        critic_vars = critic.trainable_variables
        critic_opt.apply_gradients(
            zip(tape.gradient(critic_loss, critic_vars), critic_vars, strict=True)
        )
        return tf.stack(
            [
                rec,
                kl,
                mi,
                tf.reduce_max(joint),
                tf.reduce_max(marginal),
                clamped,
                tf.reduce_min(log_var),
            ]
        )

    @tf.function
    def test_elbo(x):
        rec, kl, *_ = terms(encoder, decoder, critic, x, clamp)
        return rec + kl, rec, kl

    log = []
    for epoch in range(1, args.epochs + 1):
        start = time.time()
        rows = np.array([step(x).numpy() for x in batches])
        finite = np.isfinite(rows).all(axis=1)
        neg_elbo, rec, kl = (v.numpy() for v in test_elbo(test))
        mean_t, log_var_t = tf.split(encoder(test), 2, axis=-1)
        active = int(np.sum(np.var(mean_t.numpy(), axis=0) > 0.01))
        entry = {
            "epoch": epoch,
            "seconds": round(time.time() - start, 1),
            "nonfinite_steps": int((~finite).sum()),
            "reconstruction": float(np.nanmean(rows[:, 0])),
            "kl": float(np.nanmean(rows[:, 1])),
            "mi": float(np.nanmean(rows[:, 2])),
            "mi_last_batch": float(rows[-1, 2]),
            "mi_lowest_batch": float(np.nanmin(rows[:, 2])),
            "joint_max": float(np.nanmax(rows[:, 3])),
            "marginal_max": float(np.nanmax(rows[:, 4])),
            "clamp_rate": float(np.nanmean(rows[:, 5])),
            "log_var_min": float(np.nanmin(rows[:, 6])),
            "test_neg_elbo": float(neg_elbo),
            "test_reconstruction": float(rec),
            "test_kl": float(kl),
            "test_active_units": active,
            "test_log_var_min": float(tf.reduce_min(log_var_t)),
        }
        log.append(entry)
        print(json.dumps(entry), flush=True)
        if not math.isfinite(entry["test_neg_elbo"]):
            break
    result = {"run": run_name(vars(args)), "args": vars(args), "epochs": log}
    if args.out:
        record(result, args.out)
    return result


def report(runs: list[dict], results: str) -> list[str]:
    """Markdown: one line per run (divergence, last finite epoch), then each run's epochs."""
    lines = [
        "# Plain reference implementation of Algorithm 1",
        "",
        f"Generated by `python -m trainers.plain_reference --report` from `{results}`; do not "
        "edit by hand. What we read in it: [plain_reference_notes.md](plain_reference_notes.md).",
        "",
        "| run | epochs | first epoch with a non-finite step | last finite epoch: train rec. / KL "
        "/ MI bound | its test -ELBO (2,000 images) | AU (0.01) | largest epoch-mean KL | lowest "
        "batch MI bound | largest joint score | smallest log-variance |",
        "|---|---|---|---|---|---|---|---|---|---|",
    ]
    for run in runs:
        epochs = run["epochs"]
        bad = [e["epoch"] for e in epochs if e["nonfinite_steps"] or not math.isfinite(e["kl"])]
        finite = [e for e in epochs if e["epoch"] not in bad] or [epochs[0]]
        last = finite[-1]
        lines.append(
            f"| {run['run']} | {len(epochs)} | {bad[0] if bad else '-'} | {last['epoch']}: "
            f"{last['reconstruction']:.1f} / {last['kl']:.1f} / {last['mi']:.2f} | "
            f"{last['test_neg_elbo']:.1f} | {last['test_active_units']} | "
            f"{max(e['kl'] for e in finite):.1f} | "
            f"{min(e['mi_lowest_batch'] for e in finite):.2f} | "
            f"{max(e['joint_max'] for e in finite):.1f} | "
            f"{min(e['log_var_min'] for e in finite):.1f} |"
        )
    for run in runs:
        lines += ["", f"## {run['run']}", "", "| " + " | ".join(EPOCH_COLUMNS) + " |"]
        lines.append("|" + "---|" * len(EPOCH_COLUMNS))
        for epoch in run["epochs"]:
            cells = [_cell(epoch[key]) for key in EPOCH_COLUMNS]
            lines.append("| " + " | ".join(cells) + " |")
    return lines


EPOCH_COLUMNS = (
    "epoch",
    "nonfinite_steps",
    "reconstruction",
    "kl",
    "mi",
    "mi_lowest_batch",
    "joint_max",
    "marginal_max",
    "log_var_min",
    "test_neg_elbo",
    "test_active_units",
)


def _cell(value) -> str:
    if isinstance(value, int):
        return str(value)
    if not math.isfinite(value) or abs(value) >= 1e5:
        return f"{value:.3g}"
    return f"{value:.2f}"


def run_name(args: dict) -> str:
    """``alpha10_seed0`` and the settings that differ from the defaults."""
    name = f"alpha{args['alpha']:g}_d{args['depth']}_seed{args['seed']}"
    if args.get("clamp", 50.0) != 50.0:
        name += f"_clamp{args['clamp']:g}"
    if args.get("critic_lr", 1e-4) != 1e-4:
        name += f"_criticlr{args['critic_lr']:g}"
    return name + ("_torch" if args.get("torch_defaults") else "")


def record(result: dict, path: str) -> None:
    """Add (or replace) this run in the results file, a JSON list of runs; atomically."""
    runs = []
    if os.path.exists(path):
        with open(path) as f:
            runs = [r for r in json.load(f) if r["run"] != result["run"]]
    tmp = f"{path}.tmp"
    with open(tmp, "w") as f:
        json.dump(sorted([*runs, result], key=lambda r: r["run"]), f, indent=1)
    os.replace(tmp, path)


if __name__ == "__main__":
    main()
