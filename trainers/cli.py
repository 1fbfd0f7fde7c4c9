"""`tf-infomax`: a thin command line over the library (train, evaluate, export)."""

from __future__ import annotations

import argparse
import importlib
import os
import sys

# Before any command imports TensorFlow. The commands reach TensorFlow only through
# tf_infomax, whose __init__ sets the package's TensorFlow defaults (oneDNN) first.
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

COMMANDS = ("train", "evaluate", "export", "reproduce", "report")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="tf-infomax", description="InfoMax-VAE and its baselines (VAE, beta-VAE, InfoVAE)."
    )
    subparsers = parser.add_subparsers(dest="command", required=True)
    for name in COMMANDS:
        try:
            module = importlib.import_module(f"trainers.commands.{name}")
        except ModuleNotFoundError as error:
            if error.name != f"trainers.commands.{name}":
                raise
            continue
        module.add_parser(subparsers).set_defaults(run=module.run)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        return args.run(args) or 0
    except (ValueError, OSError, RuntimeError) as error:  # OSError: files and folders
        print(f"tf-infomax {args.command}: error: {error}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
