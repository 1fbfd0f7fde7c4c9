"""Write a TF Serving REST ``:predict`` body for an exported encoder (for curl -d @body.json).

    python export/make_request.py /tmp/encoder/1 --signature sample --format row -n 2 > body.json
    curl -s -d @body.json http://localhost:8501/v1/models/encoder:predict

Images are the first Fashion-MNIST test images when the export takes 28 x 28 x 1 images and the
IDX files are installed, else a fixed random pattern. Float signatures get pixels / 255 (the
training pipeline's scaling); ``serving_uint8`` gets the raw bytes; ``sample`` gets one seed per
image (``--seed``, ``--seed + 1``, ...).
"""

from __future__ import annotations

import argparse
import gzip
import json
import os
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

import numpy as np  # noqa: E402

TEST_IMAGES = "/usr/share/datasets/fashion-mnist/t10k-images-idx3-ubyte.gz"


def raw_images(n: int, shape: tuple[int, ...], idx_file: str = TEST_IMAGES) -> np.ndarray:
    """(n, *shape) uint8 images: Fashion-MNIST test images if they fit, else random."""
    if tuple(shape) == (28, 28, 1) and Path(idx_file).exists():
        with gzip.open(idx_file, "rb") as f:
            f.read(16)  # IDX header: magic, count, rows, cols
            return np.frombuffer(f.read(n * 784), np.uint8).reshape(n, 28, 28, 1)
    return np.random.default_rng(0).integers(0, 256, (n, *shape), dtype=np.uint8)


def build_body(
    raw: np.ndarray, signature: str, fmt: str, seed: int | None = None
) -> dict[str, object]:
    """The JSON body of a request to ``signature`` in ``row`` or ``columnar`` format."""
    images = raw.tolist() if signature == "serving_uint8" else (raw / 255.0).tolist()
    inputs: dict[str, list] = {"images": images}
    if signature == "sample":
        inputs["seed"] = [-1] * len(raw) if seed is None else list(range(seed, seed + len(raw)))
    body: dict[str, object] = {"signature_name": signature}
    if fmt == "columnar":
        body["inputs"] = inputs
    elif len(inputs) == 1:
        body["instances"] = images
    else:
        body["instances"] = [
            dict(zip(inputs, values, strict=True)) for values in zip(*inputs.values(), strict=True)
        ]
    return body


def main(argv: list[str] | None = None) -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("export_dir", help="BASE/<version> written by `tf-infomax export`")
    p.add_argument("--signature", default="serving_default")
    p.add_argument("--format", default="row", choices=("row", "columnar"))
    p.add_argument("-n", type=int, default=1, help="number of images")
    p.add_argument("--seed", type=int, default=None, help="first seed (sample; default fresh)")
    args = p.parse_args(argv)

    import tensorflow as tf

    signature = tf.saved_model.load(args.export_dir).signatures[args.signature]
    shape = signature.structured_input_signature[1]["images"].shape[1:]
    body = build_body(raw_images(args.n, tuple(shape)), args.signature, args.format, args.seed)
    print(json.dumps(body))


if __name__ == "__main__":
    main()
