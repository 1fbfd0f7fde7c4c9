"""How the IWAE log-likelihood of trained runs moves with K (is a gap an estimator artefact?).

The study's tables estimate log p(x) with K importance samples on the first test images, K
sized for a 2-core CPU. This re-estimates it at several K on the same images for a few runs,
without touching their ``metrics.json``, and writes one JSON row per (run, K).

    python -m trainers.iwae_k runs/fashion_mnist_tables/vae_d2_s0 \\
        runs/fashion_mnist_tables/infomax-vae_d2_s0 --k 100 1000 5000 --limit 500 \\
        --out docs/results/fashion_mnist_iwae_k.json
"""

from __future__ import annotations

import argparse
from pathlib import Path

from trainers.reestimate import check_trained, reestimate, write_rows


def estimate(run_dirs: list[Path], ks: list[int], limit: int, seed: int = 0) -> list[dict]:
    """One row per run and K: the IWAE estimate on the first ``limit`` test images."""
    rows = []
    for run_dir in run_dirs:
        for k in ks:
            columns, result = reestimate(
                run_dir, "log_likelihood", seed=seed, iw_samples=k, iw_limit=limit
            )
            rows.append(
                {
                    **columns,
                    "k": k,
                    "num_examples": result["num_examples"],
                    "log_likelihood": result["value"],
                    "stderr": result["stderr"],
                    "elbo": result["elbo"],
                    "seconds": result["seconds"],
                }
            )
            print(f"{run_dir.name} K={k}: {result['value']:.2f}", flush=True)
    return rows


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("runs", nargs="+", type=Path, help="run directories (tf-infomax train)")
    parser.add_argument("--k", nargs="+", type=int, default=[100, 1000, 5000])
    parser.add_argument("--limit", type=int, default=500, help="first N test images")
    parser.add_argument("--out", type=Path, required=True)
    args = parser.parse_args(argv)
    check_trained(parser, args.runs)
    if any(k < 1 for k in args.k) or args.limit < 1:
        parser.error("--k values and --limit must be positive")
    write_rows(args.out, estimate(args.runs, args.k, args.limit))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())


def _gaps(rows: list[dict]) -> dict:
    """(depth, K) -> InfoMax-VAE's minus VAE's IWAE log-likelihood (same seed and images)."""
    by = {(r["decoder_layers"], r["seed"], r["k"], r["model"]): r["log_likelihood"] for r in rows}
    return {
        (depth, k): by[(depth, seed, k, "infomax-vae")] - value
        for (depth, seed, k, model), value in by.items()
        if model == "vae" and (depth, seed, k, "infomax-vae") in by
    }


def iwae_k_section(rows: list[dict]) -> list[str]:
    """The rows of ``estimate`` as a table: one line per run, one column per K."""
    from trainers.report import fmt, table

    if not rows:
        return []
    ks = sorted({r["k"] for r in rows})
    lines = ["", "### Log-likelihood against K (`python -m trainers.iwae_k`)", ""]
    lines.append(
        f"IWAE estimate ± standard error (over images) on the first {rows[0]['num_examples']} "
        "test images, both models on the same images; the ELBO is the K = 1 bound."
    )
    body = []
    for run in dict.fromkeys(r["run"] for r in rows):
        mine = {r["k"]: r for r in rows if r["run"] == run}
        cells = [run, fmt(next(iter(mine.values()))["elbo"], 2)]
        cells += [
            fmt(mine[k]["log_likelihood"], 2, mine[k]["stderr"]) if k in mine else "-" for k in ks
        ]
        body.append(cells)
    gaps = _gaps(rows)
    for depth in sorted({d for d, _ in gaps}):
        cells = [f"{gaps[(depth, k)]:.2f}" if (depth, k) in gaps else "-" for k in ks]
        body.append([f"infomax-vae minus vae, depth {depth}", "", *cells])
    return lines + ["", *table(["run", "ELBO"] + [f"K = {k}" for k in ks], body)]
