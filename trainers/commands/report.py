"""`tf-infomax report`: re-make a study's Markdown tables and plots from its results JSON."""

from __future__ import annotations

import argparse
import json
from pathlib import Path


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


def read_rows(path: Path) -> list[dict]:
    """The rows of a results file: a list of rows, or ``{"runs": rows, ...}`` (pixelvae)."""
    if not path.exists():
        raise FileNotFoundError(
            f"{path} not found; run `tf-infomax reproduce EXPERIMENT --root DIR --results {path}` "
            "first."
        )
    try:
        content = json.loads(path.read_text())
    except json.JSONDecodeError as error:
        raise ValueError(
            f"{path} is not valid JSON ({error}); re-make it with reproduce."
        ) from None
    if isinstance(content, dict) and isinstance(content.get("runs"), list):
        experiment = content.get("experiment")
        return [{"experiment": experiment, **row} if experiment else row for row in content["runs"]]
    if not isinstance(content, list) or not all(
        isinstance(r, dict) and "run" in r for r in content
    ):
        raise ValueError(f"{path} does not hold results rows (a list of objects with a 'run').")
    return content


def run(args: argparse.Namespace) -> int:
    from trainers.report import ReportContext, render

    path, out = Path(args.results), Path(args.out)
    rows = read_rows(path)
    iwae_path = Path(args.iwae_k) if args.iwae_k else path.with_name(f"{path.stem}_iwae_k.json")
    if args.iwae_k and not iwae_path.exists():
        raise FileNotFoundError(f"--iwae-k {iwae_path} not found; make it with trainers.iwae_k.")
    context = ReportContext(
        rows=rows,
        out=out,
        iwae_k_rows=json.loads(iwae_path.read_text()) if iwae_path.exists() else [],
    )
    command = f"tf-infomax report --results {args.results} --out {args.out}"
    markdown = render(rows, command, str(path), context)
    from tf_infomax.runs import atomic_path

    with atomic_path(out) as scratch:
        Path(scratch).write_text(markdown)
    print(f"wrote {out} from {len(rows)} rows")
    return 0
