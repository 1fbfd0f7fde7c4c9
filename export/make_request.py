"""Write a TF Serving REST ``:predict`` body for an export (for curl -d @body.json), or send a
gRPC ``PredictRequest`` to a model server (``--grpc``, needs the ``serving`` extra).

    python export/make_request.py /tmp/encoder/1 --signature sample --format row -n 2 > body.json
    curl -s -d @body.json http://localhost:8501/v1/models/encoder:predict
    python export/make_request.py /tmp/encoder/1 --signature serving_uint8 --grpc localhost:8500
    python export/make_request.py /tmp/decoder/1 --signature generate -n 4 --grpc localhost:8500

Images are the first Fashion-MNIST test images when the export takes 28 x 28 x 1 images and the
IDX files are installed, else a fixed random pattern. Float signatures get pixels / 255 (the
training pipeline's scaling); ``serving_uint8`` gets the raw bytes; ``sample`` gets one seed per
image (``--seed``, ``--seed + 1``, ...). A decoder export's ``decode`` gets ``n`` codes drawn
from N(0, I) with ``--seed``, its ``generate`` gets ``seed`` and ``num = n``. The gRPC answer is
printed as JSON ``{output name: nested list}``.
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


def body_of(inputs: dict[str, np.ndarray], signature: str, fmt: str) -> dict[str, object]:
    """The JSON body of a request with named ``inputs`` in ``row`` or ``columnar`` format."""
    lists = {key: np.asarray(value).tolist() for key, value in inputs.items()}
    body: dict[str, object] = {"signature_name": signature}
    if fmt == "columnar":
        body["inputs"] = lists
    elif any(np.ndim(value) == 0 for value in inputs.values()):
        raise ValueError(f"{signature} takes scalars, which only the columnar format can send.")
    elif len(lists) == 1:
        body["instances"] = next(iter(lists.values()))
    else:
        body["instances"] = [
            dict(zip(lists, values, strict=True)) for values in zip(*lists.values(), strict=True)
        ]
    return body


def build_body(
    raw: np.ndarray, signature: str, fmt: str, seed: int | None = None
) -> dict[str, object]:
    """The JSON body of a request to the encoder's ``signature`` for raw uint8 images."""
    from tf_infomax.serving.signatures import request_inputs

    return body_of(request_inputs(raw, signature, seed), signature, fmt)


def inputs_for(export_dir: str, signature: str, n: int, seed: int | None) -> dict[str, np.ndarray]:
    """Named inputs for ``signature`` of the encoder or decoder export at ``export_dir``."""
    import tensorflow as tf

    from tf_infomax.serving import decoder_signatures, signatures

    specs = tf.saved_model.load(export_dir).signatures[signature].structured_input_signature[1]
    if signatures.IMAGES in specs:
        raw = raw_images(n, tuple(specs[signatures.IMAGES].shape[1:]))
        return signatures.request_inputs(raw, signature, seed)
    latent_dim = specs[signatures.Z].shape[-1] if signatures.Z in specs else 0
    return decoder_signatures.request_inputs(signature, latent_dim, n, seed)


def main(argv: list[str] | None = None) -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("export_dir", help="BASE/<version> written by `tf-infomax export`")
    p.add_argument("--signature", default="serving_default")
    p.add_argument("--format", default="row", choices=("row", "columnar"))
    p.add_argument("-n", type=int, default=1, help="number of images (or codes)")
    p.add_argument("--seed", type=int, default=None, help="first seed (sample; default fresh)")
    p.add_argument(
        "--grpc", metavar="HOST:PORT", help="send a gRPC PredictRequest there and print the answer"
    )
    p.add_argument(
        "--model-name", help="model name for --grpc (default: the name of BASE, as TF Serving's)"
    )
    p.add_argument("--timeout", type=float, default=10.0, help="seconds to wait for --grpc")
    args = p.parse_args(argv)

    inputs = inputs_for(args.export_dir, args.signature, args.n, args.seed)
    if not args.grpc:
        try:
            print(json.dumps(body_of(inputs, args.signature, args.format)))
        except ValueError as error:
            p.error(str(error))
        return
    from tf_infomax.serving import grpc_client

    name = args.model_name or Path(args.export_dir).resolve().parent.name
    request = grpc_client.predict_request(name, inputs, args.signature)
    response = grpc_client.send(args.grpc, request, timeout=args.timeout)
    outputs = grpc_client.response_arrays(response)
    print(json.dumps({key: value.tolist() for key, value in outputs.items()}))


if __name__ == "__main__":
    main()
