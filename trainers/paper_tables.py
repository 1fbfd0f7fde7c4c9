"""The paper's Fashion-MNIST numbers (Tables 2-3, bottom halves) and our rows beside them."""

from __future__ import annotations

from collections import defaultdict

METHOD_COLUMNS = ("vae", "beta-vae", "infovae", "infomax-vae")

# depth -> (VAE, beta-VAE, InfoVAE, InfoMax-VAE)
LOG_LIKELIHOOD = {
    2: (-253.87, -265.00, -253.37, -252.17),
    4: (-254.44, -291.25, -245.07, -243.46),
    10: (-284.82, -277.54, -266.12, -262.61),
}
ACTIVE_UNITS = {2: (20, 20, 20, 20), 4: (18, 13, 20, 20), 10: (9, 17, 12, 20)}
MUTUAL_INFORMATION = {
    2: (3.55, 2.04, 3.36, 3.58),
    4: (3.12, 2.12, 3.56, 3.85),
    10: (3.04, 2.53, 3.57, 3.87),
}
# Table 3 prints "5.5." for beta-VAE at depth 4; read as 5.50.
KL = {
    2: (16.96, 5.57, 84.87, 18.38),
    4: (14.28, 5.50, 82.09, 16.90),
    10: (9.64, 4.82, 43.42, 15.72),
}

FASHION_MNIST = {
    "log_likelihood": LOG_LIKELIHOOD,
    "active_units": ACTIVE_UNITS,
    "mutual_information": MUTUAL_INFORMATION,
    "kl": KL,
}


def paper_value(metric: str, method: str, depth: int) -> float | None:
    table = FASHION_MNIST.get(metric, {})
    if depth not in table or method not in METHOD_COLUMNS:
        return None
    return table[depth][METHOD_COLUMNS.index(method)]


# (row key, title, digits) of the tables with a paper counterpart, and of those without.
TABLE_METRICS = (
    ("log_likelihood", "log-likelihood (nats)", 2),
    ("active_units", "active units (epsilon = 0.01, Burda et al.)", 1),
    ("active_units_paper_threshold", "active units at the paper's epsilon = 0.05 (eq. 7)", 1),
    ("mutual_information", "mutual information (post-hoc critic, nats)", 3),
    ("kl", "KL(q(z|x) || p(z))", 2),
)
EXTRA_METRICS = (
    ("mutual_information_aggregate", "aggregate-posterior MI (nats, <= log N)", 3),
    ("kl_aggregate_prior", "KL(q(z) ‖ p(z))", 2),
)


def planned_epochs(row: dict) -> int:
    """The epochs a row's run was asked for (a diverged run trained fewer)."""
    return row.get("config", {}).get("epochs", row["epochs"])


def _grouped(rows: list[dict]) -> dict:
    """(decoder depth, method) -> rows of the longest planned training in that cell (seeds of
    a shorter one are not averaged in while a re-run is under way; a run that diverged stays
    in its cell, without metrics), with the AU count at the paper's threshold added."""
    from trainers.report import paper_threshold_au

    groups = defaultdict(list)
    for row in rows:
        row = {**row, "active_units_paper_threshold": paper_threshold_au(row)}
        groups[(row["decoder_layers"], row["model"])].append(row)
    for key, group in groups.items():
        longest = max(map(planned_epochs, group))
        groups[key] = [r for r in group if planned_epochs(r) == longest]
    return groups


def _diverged(group: list[dict]) -> str:
    """' (k of n diverged)' where runs of the cell diverged, else ''."""
    count = sum(1 for r in group if r.get("diverged"))
    return f" ({count} of {len(group)} diverged)" if count else ""


def comparison_section(rows: list[dict]) -> list[str]:
    """Tables 2-3 cell by cell: ours (mean ± sd over seeds) / paper / difference; the other
    measurements; and whether the paper's orderings hold in our runs."""
    from trainers.report import fmt, fmt_mean, mean_sd, probe_accuracy, table

    groups = _grouped(rows)
    depths = sorted({d for d, _ in groups})
    lines = [
        "Each cell: ours (mean ± sd over seeds where there are several) / paper / difference; "
        "only the runs of the cell's longest planned training (epochs: the table of other "
        "measurements). A run that diverged (a non-finite loss) has no metrics: the cell's "
        "mean is over the others and says how many diverged."
    ]
    for key, title, digits in TABLE_METRICS:
        body = []
        for depth in depths:
            cells = [str(depth)]
            for method in METHOD_COLUMNS:
                group = groups.get((depth, method), [])
                ours, spread = mean_sd(r.get(key) for r in group)
                paper = paper_value(key.removesuffix("_paper_threshold"), method, depth)
                diff = ours - paper if None not in (ours, paper) else None
                cells.append(f"{fmt(ours, digits, spread)}{_diverged(group)} / "
                             f"{fmt(paper, digits)} / {fmt(diff, digits)}")  # fmt: skip
            body.append(cells)
        lines += ["", f"### {title}", "", *table(["layers", *METHOD_COLUMNS], body)]
    header = ["layers", "model", "seeds", "epochs", "diverged (seed: epoch)", "train time (s)"]
    header += [title for _, title, _ in EXTRA_METRICS] + ["linear probe acc", "MLP probe acc"]
    body = []
    for depth in depths:
        for method in METHOD_COLUMNS:
            group = groups.get((depth, method), [])
            if group:
                cells = [str(depth), method, ",".join(str(r["seed"]) for r in group)]
                cells.append(",".join(str(r["epochs"]) for r in group))
                diverged = [f"{r['seed']}: {r['diverged']['epoch']}" for r in group
                            if r.get("diverged")]  # fmt: skip
                cells.append(", ".join(diverged) or "-")
                cells.append(fmt(mean_sd(r.get("train_wall_time_s") for r in group)[0], 0))
                cells += [fmt_mean((r.get(k) for r in group), d) for k, _, d in EXTRA_METRICS]
                cells += [
                    fmt_mean((probe_accuracy(r, kind) for r in group), 3)
                    for kind in ("linear", "mlp")
                ]
                body.append(cells)
    lines += ["", "### Other measurements (no paper counterpart)", "", *table(header, body)]
    return lines + [
        "",
        "### The paper's ordering in our runs",
        "",
        *ordering_checks(groups, depths),
    ]


def ordering_checks(groups: dict, depths: list[int]) -> list[str]:
    """The paper's claims as checks on our means: InfoMax-VAE's MI above, its AU at least,
    the baselines'; its log-likelihood within 5 nats of VAE's."""
    from trainers.report import mean_sd, table

    body = []
    for depth in depths:

        def mean_of(method, key, depth=depth):
            return mean_sd(r.get(key) for r in groups.get((depth, method), []))[0]

        im_mi = mean_of("infomax-vae", "mutual_information")
        for base in ("vae", "beta-vae"):
            mi = mean_of(base, "mutual_information")
            if None not in (im_mi, mi):
                body.append([str(depth), f"MI: infomax-vae {im_mi:.3f} > {base} {mi:.3f}",
                             str(im_mi > mi)])  # fmt: skip
            for key, eps in (("active_units", "0.01"), ("active_units_paper_threshold", "0.05")):
                im_au, au = mean_of("infomax-vae", key), mean_of(base, key)
                if None not in (im_au, au):
                    body.append([str(depth), f"AU (epsilon {eps}): infomax-vae {im_au:.1f} >= "
                                 f"{base} {au:.1f}", str(im_au >= au)])  # fmt: skip
        im_ll, vae_ll = mean_of("infomax-vae", "log_likelihood"), mean_of("vae", "log_likelihood")
        if None not in (im_ll, vae_ll):
            body.append([str(depth), f"LL: infomax-vae {im_ll:.2f} within 5 nats of vae "
                         f"{vae_ll:.2f}", str(abs(im_ll - vae_ll) <= 5)])  # fmt: skip
    return table(["layers", "check", "holds"], body)
