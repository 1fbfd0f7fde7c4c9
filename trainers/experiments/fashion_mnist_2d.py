"""The 2-D latent study of Figure 2 on Fashion-MNIST: FC and conv, VAE vs InfoMax-VAE.

alpha = 10 for the FC nets and 20 for the conv nets, beta = 1 (Section 6.1).

Command:
    tf-infomax reproduce fashion_mnist_2d --root runs/fashion_mnist_2d
"""

from __future__ import annotations

from tf_infomax.training import TrainConfig

EPOCHS = 2


def get_config(smoke: bool = False) -> dict[str, TrainConfig]:
    runs: dict[str, TrainConfig] = {}
    for arch in ("fc", "conv"):
        for method in ("vae", "infomax-vae"):
            alpha = None if method == "vae" else (10.0 if arch == "fc" else 20.0)
            runs[f"{method}_{arch}_z2"] = TrainConfig.from_flat(
                model=method,
                dataset="sklearn_digits" if smoke else "fashion_mnist",
                arch=arch,
                latent_dim=2,
                alpha=alpha,
                epochs=1 if smoke else EPOCHS,
                batch_size=50 if smoke else 100,
                limit=200 if smoke else None,
                validation_limit=0,
            )
    return runs


def figures_for(run: str) -> tuple[str, ...]:
    """Figure 2: aggregated posterior against the prior, and latent codes coloured by class."""
    return ("aggregate_posterior", "latent_codes")


def report(rows: list[dict], context) -> list[str]:
    """One line per run and the Figure 2 panels."""
    from trainers.report import figures_section, fmt, probe_accuracy, table

    header = ["run", "model", "arch", "epochs", "active units", "MI (critic)", "MI (aggregate)"]
    header += ["KL", "log-likelihood", "linear probe acc"]
    body = []
    for row in rows:
        cells = [row["run"], row["model"], row["arch"], str(row["epochs"])]
        cells.append(fmt(row.get("active_units")))
        cells += [
            fmt(row.get(key), 3) for key in ("mutual_information", "mutual_information_aggregate")
        ]
        cells += [fmt(row.get("kl"), 2), fmt(row.get("log_likelihood"), 2)]
        cells.append(fmt(probe_accuracy(row, "linear"), 3))
        body.append(cells)
    title = "Figure 2 panels: aggregated posterior and latent codes"
    return table(header, body) + figures_section(title, rows)
