"""`tf-infomax report`: re-make the Markdown tables of a study from its results JSON."""

from __future__ import annotations

import argparse
import json
from pathlib import Path


def add_parser(subparsers) -> argparse.ArgumentParser:
    p = subparsers.add_parser("report", help="make docs/results/*.md from the results JSON")
    p.add_argument("--results", default="docs/results/fashion_mnist.json")
    p.add_argument("--out", default="docs/results/fashion_mnist.md")
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
    Path(args.out).write_text(fashion_mnist_markdown(rows, command, str(path)))
    print(f"wrote {args.out} from {len(rows)} rows")
    return 0
