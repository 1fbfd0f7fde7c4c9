"""`tf-infomax report`: re-make the Markdown tables of a study from its results JSON."""

from __future__ import annotations

import argparse
import json
from pathlib import Path

# Experiments whose rows get the training-stability report (trainers/stability_report.py).
STABILITY_EXPERIMENTS = {"fashion_mnist_ablation", "fashion_mnist_convergence"}


def add_parser(subparsers) -> argparse.ArgumentParser:
    p = subparsers.add_parser("report", help="make docs/results/*.md from the results JSON")
    p.add_argument("--results", default="docs/results/fashion_mnist.json")
    p.add_argument("--out", default="docs/results/fashion_mnist.md")
    p.add_argument(
        "--iwae-k",
        default=None,
        help="rows of `python -m trainers.iwae_k` (default: RESULTS_iwae_k.json if present)",
    )
    return p


def run(args: argparse.Namespace) -> int:
    from trainers.report import fashion_mnist_markdown

    path = Path(args.results)
    if not path.exists():
        raise FileNotFoundError(
            f"{path} not found; run `tf-infomax reproduce fashion_mnist_tables --root DIR "
            f"--results {path}` first."
        )
    rows = json.loads(path.read_text())
    command = f"tf-infomax report --results {args.results} --out {args.out}"
    if rows and {r.get("experiment") for r in rows} <= STABILITY_EXPERIMENTS:
        from trainers.stability_report import stability_markdown

        Path(args.out).write_text(stability_markdown(rows, command, str(path)))
        print(f"wrote {args.out} from {len(rows)} rows")
        return 0
    iwae_path = Path(args.iwae_k) if args.iwae_k else path.with_name(f"{path.stem}_iwae_k.json")
    if args.iwae_k and not iwae_path.exists():
        raise FileNotFoundError(f"--iwae-k {iwae_path} not found; make it with trainers.iwae_k.")
    iwae_rows = json.loads(iwae_path.read_text()) if iwae_path.exists() else None
    markdown = fashion_mnist_markdown(rows, command, str(path), iwae_rows)
    Path(args.out).write_text(markdown)
    print(f"wrote {args.out} from {len(rows)} rows")
    return 0
