"""`tf-infomax export`: write a run's encoder as a versioned SavedModel for TF Serving."""

from __future__ import annotations

import argparse


def add_parser(subparsers) -> argparse.ArgumentParser:
    p = subparsers.add_parser(
        "export",
        help="export a trained encoder for TF Serving (BASE/<version>/ SavedModel)",
        description="Export the encoder of run directory DIR to BASE/<version>/ with the "
        "signatures serving_default (float images in [0, 1] -> mean, log_var), sample (adds z; "
        "int64 seed per image) and serving_uint8 (raw 0..255 images).",
    )
    p.add_argument("run_dir", metavar="DIR", help="run directory written by `tf-infomax train`")
    p.add_argument("--to", required=True, metavar="BASE", help="model base path for TF Serving")
    p.add_argument(
        "--version", type=int, default=None, help="integer version (default: largest + 1)"
    )
    p.add_argument("--overwrite", action="store_true", help="replace an existing BASE/<version>")
    return p


def run(args: argparse.Namespace) -> int:
    from tf_infomax.serving import export_run
    from tf_infomax.serving.signatures import SIGNATURE_NAMES

    if args.version is not None and args.version < 0:
        raise ValueError(f"--version must be a non-negative integer, got {args.version}.")
    path = export_run(args.run_dir, args.to, args.version, overwrite=args.overwrite)
    print(f"wrote {path} (signatures: {', '.join(SIGNATURE_NAMES)})")
    print(f"inspect: saved_model_cli show --all --dir {path}")
    return 0
