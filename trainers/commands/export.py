"""`tf-infomax export`: write a run's encoder (and decoder) as versioned SavedModels for TF
Serving."""

from __future__ import annotations

import argparse
from pathlib import Path


def add_parser(subparsers) -> argparse.ArgumentParser:
    p = subparsers.add_parser(
        "export",
        help="export a trained encoder for TF Serving (BASE/<version>/ SavedModel)",
        description="Export the encoder of run directory DIR to BASE/<version>/ with the "
        "signatures serving_default (float images in [0, 1] -> mean, log_var), sample (adds z; "
        "int64 seed per image) and serving_uint8 (raw 0..255 images), and warm-up requests in "
        "assets.extra/tf_serving_warmup_requests. --with-decoder also exports the decoder as a "
        "second model (decode: z -> images, generate: seed, num -> images).",
    )
    p.add_argument("run_dir", metavar="DIR", help="run directory written by `tf-infomax train`")
    p.add_argument("--to", required=True, metavar="BASE", help="model base path for TF Serving")
    p.add_argument(
        "--version", type=int, default=None, help="integer version (default: largest + 1)"
    )
    p.add_argument("--overwrite", action="store_true", help="replace an existing BASE/<version>")
    p.add_argument(
        "--with-decoder",
        action="store_true",
        help="also export the decoder, with the same version, to BASE_decoder/<version>",
    )
    p.add_argument(
        "--decoder-to",
        metavar="DECODER_BASE",
        help="model base path of the decoder (implies --with-decoder; default: BASE_decoder)",
    )
    return p


def run(args: argparse.Namespace) -> int:
    from tf_infomax.serving import decoder_base_of, export_run
    from tf_infomax.serving.decoder_signatures import DECODER_SIGNATURE_NAMES
    from tf_infomax.serving.signatures import SIGNATURE_NAMES

    if args.version is not None and args.version < 0:
        raise ValueError(f"--version must be a non-negative integer, got {args.version}.")
    decoder_base = args.decoder_to or (decoder_base_of(args.to) if args.with_decoder else None)
    path = export_run(
        args.run_dir, args.to, args.version, overwrite=args.overwrite, decoder_base=decoder_base
    )
    print(f"wrote {path} (signatures: {', '.join(SIGNATURE_NAMES)})")
    if decoder_base is not None:
        decoder = Path(decoder_base) / path.name
        print(f"wrote {decoder} (signatures: {', '.join(DECODER_SIGNATURE_NAMES)})")
    print(f"inspect: saved_model_cli show --all --dir {path}")
    return 0
