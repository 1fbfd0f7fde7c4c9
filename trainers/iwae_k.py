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
import json
import time
from pathlib import Path


def estimate(run_dirs: list[Path], ks: list[int], limit: int, seed: int = 0) -> list[dict]:
    """One row per run and K: the IWAE estimate on the first ``limit`` test images."""
    from tf_infomax.metrics.evaluate import EvaluationConfig, evaluate_run
    from tf_infomax.training import load_config

    rows = []
    for run_dir in run_dirs:
        config = load_config(run_dir)
        for k in ks:
            settings = EvaluationConfig(
                metrics=("log_likelihood",), iw_samples=k, iw_limit=limit, figures=False, seed=seed
            )
            started = time.perf_counter()
            result = evaluate_run(run_dir, settings, write=False)["log_likelihood"]
            rows.append(
                {
                    "run": run_dir.name,
                    "model": config.model.method,
                    "decoder_layers": config.model.decoder_layers,
                    "seed": config.seed,
                    "k": k,
                    "num_examples": result["num_examples"],
                    "log_likelihood": result["value"],
                    "stderr": result["stderr"],
                    "elbo": result["elbo"],
                    "seconds": round(time.perf_counter() - started, 1),
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
    missing = [str(r) for r in args.runs if not (r / "model.keras").exists()]
    if missing:
        parser.error(f"not trained run directories (no model.keras): {missing}")
    if any(k < 1 for k in args.k) or args.limit < 1:
        parser.error("--k values and --limit must be positive")
    rows = estimate(args.runs, args.k, args.limit)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(rows, indent=1) + "\n")
    print(f"wrote {args.out} ({len(rows)} rows)")
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
