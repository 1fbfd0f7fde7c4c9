"""`tf-infomax train`: train one model and write a run directory."""

from __future__ import annotations

import argparse
import json


def add_parser(subparsers) -> argparse.ArgumentParser:
    from tf_infomax.data import DATASET_NAMES
    from tf_infomax.models import METHODS
    from tf_infomax.networks import ARCHITECTURES
    from tf_infomax.objectives import ESTIMATORS

    p = subparsers.add_parser("train", help="train a model (writes DIR/model.keras etc.)")
    p.add_argument("--model", default="infomax-vae", choices=METHODS)
    p.add_argument("--dataset", default="fashion_mnist", choices=DATASET_NAMES)
    p.add_argument("--arch", default="fc", choices=sorted(ARCHITECTURES))
    p.add_argument(
        "--arch-option",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="architecture option, repeatable (e.g. --arch pixelvae --arch-option filters=16)",
    )
    p.add_argument("--latent-dim", type=int, default=20)
    p.add_argument("--decoder-layers", type=int, default=None, help="fc decoder depth (Tables 2-3)")
    p.add_argument("--estimator", default="f-kl", choices=sorted(ESTIMATORS))
    p.add_argument("--alpha", type=float, default=None, help="MI weight (infomax-vae: 10)")
    p.add_argument("--beta", type=float, default=None, help="KL weight (beta-vae: 4)")
    p.add_argument("--infovae-alpha", type=float, default=0.0)
    p.add_argument("--infovae-lambda", type=float, default=1000.0)
    p.add_argument("--critic-units", type=int, nargs="+", default=None)
    p.add_argument("--track-mi", action="store_true", help="log MI for methods without MI term")
    p.add_argument("--likelihood", default="bernoulli", choices=("bernoulli", "gaussian"))
    p.add_argument("--binarize", action="store_true", help="dynamic binarization")
    p.add_argument("--epochs", type=int, default=1)
    p.add_argument("--batch-size", type=int, default=100)
    p.add_argument("--limit", type=int, default=None, help="use the first N training examples")
    p.add_argument("--validation-limit", type=int, default=None, help="0 disables validation")
    p.add_argument("--learning-rate", type=float, default=1e-3)
    p.add_argument("--critic-learning-rate", type=float, default=1e-4)
    p.add_argument(
        "--clipnorm", type=_float_or_none, default=100.0, help="global grad-norm clip (VAE); none"
    )
    p.add_argument("--critic-clipnorm", type=_float_or_none, default=10.0, help="same, critic")
    p.add_argument(
        "--critic-score-bound",
        type=_float_or_none,
        default=20.0,
        help="soft bound B of the critic, t = B tanh(t_raw / B); 'none' for unbounded",
    )
    p.add_argument(
        "--min-log-var",
        type=_float_or_none,
        default=-10.0,
        help="floor of the posterior log-variance; 'none' for no floor",
    )
    p.add_argument(
        "--diagnostics",
        action="store_true",
        help="log gradient norms per term, clip rates, critic scores, smallest log-variance",
    )
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--data-dir", default=None)
    p.add_argument("--overwrite", action="store_true", help="replace a finished run in --out")
    p.add_argument("--out", required=True, help="run directory")
    return p


def run(args: argparse.Namespace) -> int:
    from tf_infomax.training import TrainConfig, train

    config = TrainConfig(
        model=args.model,
        dataset=args.dataset,
        arch=args.arch,
        arch_options=_arch_options(args.arch_option),
        latent_dim=args.latent_dim,
        decoder_layers=args.decoder_layers,
        estimator=args.estimator,
        beta=args.beta,
        alpha=args.alpha,
        infovae_alpha=args.infovae_alpha,
        infovae_lambda=args.infovae_lambda,
        critic_units=tuple(args.critic_units) if args.critic_units else None,
        track_mi=args.track_mi,
        likelihood=args.likelihood,
        binarize=args.binarize,
        epochs=args.epochs,
        batch_size=args.batch_size,
        limit=args.limit,
        validation_limit=args.validation_limit,
        learning_rate=args.learning_rate,
        critic_learning_rate=args.critic_learning_rate,
        clipnorm=args.clipnorm,
        critic_clipnorm=args.critic_clipnorm,
        critic_score_bound=args.critic_score_bound,
        min_log_var=args.min_log_var,
        diagnostics=args.diagnostics,
        seed=args.seed,
        data_dir=args.data_dir,
    )
    _, history = train(config, args.out, overwrite=args.overwrite)
    final = {k: v[-1] for k, v in history.items() if v and k != "epoch"}
    print("final:", json.dumps({k: round(v, 4) for k, v in final.items()}))
    print(f"wrote {args.out}/model.keras, config.json, history.json")
    return 0


def _float_or_none(text: str) -> float | None:
    """A float, or None for 'none'."""
    return None if text.lower() == "none" else float(text)


def _arch_options(pairs: list[str]) -> dict:
    """``["filters=16"]`` -> ``{"filters": 16}`` (values read as JSON, else kept as text)."""
    options = {}
    for pair in pairs:
        key, sep, value = pair.partition("=")
        if not sep or not key:
            raise ValueError(f"--arch-option {pair!r}: expected KEY=VALUE, e.g. filters=16.")
        try:
            options[key] = json.loads(value)
        except json.JSONDecodeError:
            options[key] = value
    return options
