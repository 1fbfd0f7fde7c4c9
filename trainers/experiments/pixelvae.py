"""PixelVAE (paper, Section 6.3, Figure 4): a 3-block ResNet encoder, a 12-layer PixelCNN
decoder conditioned on z, 2-D latents, binarized images; VAE, beta-VAE, InfoVAE, InfoMax-VAE.

The paper reports linear-probe test accuracies on the 2-D codes of binarized MNIST of 30.5%
(Pixel VAE), 10% (beta), 37.98% (Info-VAE) and 43.35% (InfoMax-VAE). Training length and widths
are not given; ours are ``EPOCHS`` and the defaults of ``tf_infomax.networks.PixelCNNDecoder``.

Paper setting (needs MNIST, i.e. internet once), trained and evaluated by this module:
    python -m trainers.experiments.pixelvae --paper --out runs/pixelvae --runs runs/pixelvae

The reduced CPU study of docs/results/pixelvae.{json,md} (binarized Fashion-MNIST, offline):
    python -m trainers.experiments.pixelvae --out docs/results
"""

from __future__ import annotations

import argparse
from pathlib import Path

from tf_infomax.training import TrainConfig

EPOCHS = 20
PAPER_PROBE_ACCURACY = {"vae": 30.5, "beta-vae": 10.0, "infovae": 37.98, "infomax-vae": 43.35}


# What the runs are evaluated with (``tf-infomax reproduce`` flags override it): the linear
# probe on posterior means of 10,000 training images, scored on 10,000 test images, AU, KL,
# the Figure 4 panels; the test terms (``after_evaluation``) on the first ``ELBO_LIMIT``.
EVALUATION = {
    "metrics": ("active_units", "kl", "probe_accuracy"),
    "limit": 10_000,
    "train_limit": 10_000,
    "batch_size": 500,
}
ELBO_LIMIT = 2_000

# The CPU study of docs/results: 12 PixelCNN layers of 16 maps, 6000 examples x 5 epochs.
CPU_METHODS = ("vae", "infomax-vae")
CPU_TRAINING = {"epochs": 5, "limit": 6000, "arch_options": {"filters": 16}}
# These runs were made without gradient clipping (recorded in docs/results/pixelvae.json).
NO_CLIPPING = {"clipnorm": None, "critic_clipnorm": None}


def get_config(smoke: bool = False) -> dict[str, TrainConfig]:
    """Run name -> config: the paper's four methods on binarized MNIST, or a tiny variant.

    The smoke variant trains a 3-layer PixelCNN of 4 maps on 64 binarized Fashion-MNIST images.
    """
    methods = ("vae", "infomax-vae") if smoke else ("vae", "beta-vae", "infovae", "infomax-vae")
    return {
        f"pixel_{method}_z2": TrainConfig.from_flat(
            model=method,
            dataset="fashion_mnist" if smoke else "mnist",
            arch="pixelvae",
            latent_dim=2,
            decoder_layers=3 if smoke else None,
            critic_units=(32, 16) if smoke else None,
            arch_options={"filters": 4} if smoke else {},
            binarize=True,
            epochs=1 if smoke else EPOCHS,
            batch_size=32 if smoke else 100,
            limit=64 if smoke else None,
            validation_limit=0,
            **NO_CLIPPING,
        )
        for method in methods
    }


def cpu_configs(methods=CPU_METHODS) -> dict[str, TrainConfig]:
    """The reduced runs of docs/results: Fashion-MNIST, binarized, ``CPU_TRAINING``."""
    return {
        f"pixel_{method}_z2": TrainConfig.from_flat(
            model=method,
            dataset="fashion_mnist",
            arch="pixelvae",
            latent_dim=2,
            binarize=True,
            batch_size=100,
            validation_limit=0,
            **NO_CLIPPING,
            **CPU_TRAINING,
        )
        for method in methods
    }


def evaluation(smoke: bool = False) -> dict:
    """The evaluation options of these runs (the smoke variant keeps ``tiny``'s sizes)."""
    return {"metrics": EVALUATION["metrics"]} if smoke else dict(EVALUATION)


def figures_for(run: str) -> tuple[str, ...]:
    """Figure 4: aggregated posterior against the prior, and latent codes coloured by class."""
    return ("aggregate_posterior", "latent_codes")


def after_evaluation(run, smoke: bool = False) -> dict:
    """Row keys of this study beside the registered metrics: parameter counts, the probe's
    details, per-dimension variances, test terms (one z sample each, images binarized once
    with a fixed seed) and the paper's probe accuracy."""
    from tf_infomax.metrics.evaluate import evaluation_data

    config, model, metrics = run.config(), run.model(), run.metrics()
    batches = evaluation_data(
        config, "test", batch_size=100, limit=100 if smoke else ELBO_LIMIT, seed=config.seed
    )
    terms = model.evaluate(batches, verbose=0, return_dict=True)
    probe = (metrics.get("probe_accuracy") or {}).get("linear") or {}
    return {
        "decoder_params": int(model.decoder.count_params()),
        "encoder_params": int(model.encoder.count_params()),
        "train_time_s": round(sum(run.history().get("wall_time_s", [])), 1),
        "linear_probe_test_accuracy": probe.get("accuracy"),
        "linear_probe_train_accuracy": probe.get("train_accuracy"),
        "probe_converged": probe.get("converged"),
        "latent_variances": (metrics.get("active_units") or {}).get("variances"),
        "test_terms": {k: round(float(v), 4) for k, v in terms.items()},
        "elbo_limit": 100 if smoke else ELBO_LIMIT,
        "paper_probe_accuracy_binarized_mnist": PAPER_PROBE_ACCURACY[config.model.method],
    }


def report(rows: list[dict], context) -> list[str]:
    """One line per method: probe accuracy, AU, variances, test terms, the paper's accuracy."""
    from trainers.report import figures_section, table

    first = rows[0]["config"]
    lines = [
        f"Data: {first['dataset']} (dynamically binarized: {first['binarize']}), "
        f"{first['limit'] or 'all'} training images, {first['epochs']} epochs, batch "
        f"{first['batch_size']}, seed {first['seed']}; PixelCNN of {first['decoder_layers'] or 12}"
        f" masked layers with options {first.get('arch_options') or {}} "
        f"({rows[0]['decoder_params']:,} decoder parameters).",
        "",
    ]
    header = ["run", "method", "probe test acc. (train)", "AU", "Var E[z_d given x]"]
    header += ["test rec. / KL / MI (critic)", "train time (s)", "paper acc., bin. MNIST"]
    body = []
    for row in rows:
        terms = row["test_terms"]
        mi = f"{terms['mi']:.3f}" if "mi" in terms else "-"
        test, train = row["linear_probe_test_accuracy"], row["linear_probe_train_accuracy"]
        body.append(
            [
                row["run"],
                row["model"],
                f"{100 * test:.2f}% ({100 * train:.2f}%)" if None not in (test, train) else "-",
                str(row["active_units"]),
                ", ".join(f"{v:.3f}" for v in row["latent_variances"] or []),
                f"{terms['reconstruction']:.2f} / {terms['kl']:.3f} / {mi}",
                f"{row['train_time_s']:.0f}",
                f"{row['paper_probe_accuracy_binarized_mnist']}%",
            ]
        )
    lines += table(header, body)
    old = [
        (r["model"], kind, Path(p).name) for r in rows for kind, p in r.get("figures", {}).items()
    ]
    lines += ["", *(f"![{model} {kind}]({name})" for model, kind, name in old)] if old else []
    return lines + figures_section("Figure 4 panels", rows)


def main(argv: list[str] | None = None) -> int:
    """Run the study (``pixelvae`` or ``pixelvae_cpu``) and write ``pixelvae.json`` / ``.md``."""
    import tempfile

    from tf_infomax.runs import write_json
    from trainers.report import ReportContext, render
    from trainers.study import evaluation_for, run_study

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", required=True, help="folder of pixelvae.json, .md and figures")
    parser.add_argument("--runs", default=None, help="also keep the run directories here")
    parser.add_argument("--paper", action="store_true", help="the paper's runs (MNIST, 4 methods)")
    args = parser.parse_args(argv)
    experiment = "pixelvae" if args.paper else "pixelvae_cpu"
    out = Path(args.out)
    with tempfile.TemporaryDirectory() as scratch:
        rows = run_study(experiment, args.runs or scratch, verbose=2)
    results = {
        "experiment": experiment,
        "study": evaluation_for(experiment).to_dict(),
        "runs": rows,
    }
    out.mkdir(parents=True, exist_ok=True)
    write_json(out / "pixelvae.json", results)
    command = f"python -m trainers.experiments.pixelvae --out {args.out}"
    context = ReportContext(rows=rows, out=out / "pixelvae.md")
    (out / "pixelvae.md").write_text(render(rows, command, str(out / "pixelvae.json"), context))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
