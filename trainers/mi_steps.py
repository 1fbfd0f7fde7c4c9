"""How the post-hoc MI of trained runs moves with the critic's training steps (is it converged?).

The study's post-hoc MI trains a fresh critic for ``mi_steps`` steps (2,000 by default) on
codes of the trained encoder and reports its f-KL bound (eq. 6) on test pairs: a lower bound
on I(x; z) that is only as tight as that critic. This re-estimates it at several step counts
for a few runs, without touching their ``metrics.json``, and, for InfoMax-VAE, also reports the
bound of the model's own critic (trained with the encoder for the whole run) on the same test
split: another lower bound on the same quantity. ``--seeds`` repeats each estimate with other
evaluation seeds (critic initialisation and batches): how far apart two estimates of the same
encoder fall; ``--train-limits`` trains the critic on other numbers of training images (the
study's 10,000, or 0: all). One JSON row per (run, training images, steps, seed).

    python -m trainers.mi_steps runs/fashion_mnist_convergence/vae_d2_s1 \\
        runs/fashion_mnist_convergence/infomax-vae-clip_d2_s1 --steps 2000 10000 --seeds 0 1 \\
        --out docs/results/fashion_mnist_mi_steps.json
"""

from __future__ import annotations

import argparse
from pathlib import Path

from trainers.reestimate import check_trained, reestimate, write_rows


def own_critic_bound(run_dir: Path, seed: int = 0) -> float | None:
    """The model's own critic's MI bound on the test split (None: the model has no critic)."""
    from tf_infomax.metrics.evaluate import evaluation_data
    from tf_infomax.runs import RunDir

    run = RunDir(run_dir)
    model = run.model()
    if model.critic is None:
        return None
    batches = evaluation_data(run.config(), "test", batch_size=100, limit=None, seed=seed)
    return float(model.evaluate(batches, verbose=0, return_dict=True)["mi"])


def estimate(
    run_dirs: list[Path],
    steps: list[int],
    seeds: list[int] = (0,),
    train_limits: list[int | None] = (10_000,),
) -> list[dict]:
    """One row per run, training images, step count and seed: the post-hoc MI with the study's
    other settings (``train_limits``: the critic's training images, None or 0: all)."""
    rows = []
    for run_dir in run_dirs:
        own = own_critic_bound(run_dir)
        grid = ((n, c, s) for n in train_limits for c in steps for s in seeds)
        for limit, count, seed in grid:
            columns, result = reestimate(
                run_dir, "mutual_information", seed=seed, mi_steps=count, mi_train_limit=limit
            )
            rows.append(
                {
                    **columns,
                    "steps": count,
                    "eval_seed": seed,
                    "mutual_information": result["value"],
                    "train_estimate": result["train_estimate"],
                    "num_eval_pairs": result["num_eval_pairs"],
                    "held_out_joint_mean": result.get("held_out_joint_mean"),
                    "held_out_log_mean_exp_marginal": result.get("held_out_log_mean_exp_marginal"),
                    "held_out_joint_term": result.get("held_out_joint_term"),
                    "held_out_marginal_term": result.get("held_out_marginal_term"),
                    "train_limit": result["train_limit"],
                    "own_critic_test_bound": own,
                    "seconds": result["seconds"],
                }
            )
            print(
                f"{run_dir.name} train_limit={result['train_limit']} steps={count} seed={seed}: "
                f"{result['value']:.3f} (own {own})"
            )
    return rows


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("runs", nargs="+", type=Path, help="run directories (tf-infomax train)")
    parser.add_argument("--steps", nargs="+", type=int, default=[2000, 10000])
    parser.add_argument("--seeds", nargs="+", type=int, default=[0], help="evaluation seeds")
    parser.add_argument(
        "--train-limits",
        nargs="+",
        type=int,
        default=[10_000],
        help="the critic's training images (0: the whole training split)",
    )
    parser.add_argument("--out", type=Path, required=True)
    args = parser.parse_args(argv)
    check_trained(parser, args.runs)
    if any(s < 1 for s in args.steps):
        parser.error("--steps values must be positive")
    if any(n < 0 for n in args.train_limits):
        parser.error("--train-limits values must be >= 0 (0: the whole training split)")
    write_rows(args.out, estimate(args.runs, args.steps, args.seeds, args.train_limits))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
