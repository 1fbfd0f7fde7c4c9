"""Downstream use of an exported encoder: a Fashion-MNIST classifier on its codes.

Loads ``BASE/<version>`` (written by ``tf-infomax export``) as a frozen
``keras.layers.TFSMLayer(path, call_endpoint="serving_default")``, encodes the images to the
posterior means, trains a linear probe and a small MLP on the codes, and evaluates the composed
model images -> TFSMLayer -> head on the test split. Only TensorFlow and Keras are needed to
use the SavedModel; the data come from ``tf_infomax.data`` when it is installed, else from the
raw IDX files (``--idx-dir``).

    python export/downstream_classifier.py --encoder /tmp/encoder/1 --limit 10000
"""

from __future__ import annotations

import argparse
import gzip
import json
import os
import platform
import time
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import keras  # noqa: E402
import numpy as np  # noqa: E402
import tensorflow as tf  # noqa: E402

IDX_DIR = "/usr/share/datasets/fashion-mnist"
IDX_FILES = {"train": "train-{}-idx{}-ubyte.gz", "test": "t10k-{}-idx{}-ubyte.gz"}
DEFAULT_OUT = Path(__file__).parent / "results" / "downstream_classifier.json"


def _read_idx(path: Path) -> np.ndarray:
    with gzip.open(path, "rb") as f:
        raw = f.read()
    ndim = raw[3]
    dims = np.frombuffer(raw[4 : 4 + 4 * ndim], ">u4").astype(int)
    return np.frombuffer(raw, np.uint8, offset=4 + 4 * ndim).reshape(dims)


def load_split(split: str, limit: int | None, idx_dir: str) -> tuple[np.ndarray, np.ndarray, str]:
    """(images float32 (N, 28, 28, 1) in [0, 1], labels, source) of Fashion-MNIST."""
    try:
        from tf_infomax import data
    except ImportError:
        data = None
    if data is not None:
        options = {"limit": limit, "shuffle": False, "drop_remainder": False}
        dataset = data.load("fashion_mnist", split, batch_size=1000, **options)
        batches = list(dataset)
        images = np.concatenate([b[0].numpy() for b in batches])
        labels = np.concatenate([b[1].numpy() for b in batches])
        return images, labels, "tf_infomax.data"
    pattern = IDX_FILES[split]
    images = _read_idx(Path(idx_dir) / pattern.format("images", 3))[:limit]
    labels = _read_idx(Path(idx_dir) / pattern.format("labels", 1))[:limit]
    return (images[..., None] / np.float32(255)).astype(np.float32), labels, f"IDX {idx_dir}"


def encode(encoder: keras.layers.Layer, images: np.ndarray, batch: int = 500) -> np.ndarray:
    return np.concatenate(
        [encoder(images[i : i + batch])["mean"].numpy() for i in range(0, len(images), batch)]
    )


def train_head(
    codes: np.ndarray, labels: np.ndarray, hidden: int, epochs: int, seed: int
) -> keras.Model:
    """Softmax regression (hidden=0) or a one-hidden-layer MLP on standardized codes."""
    keras.utils.set_random_seed(seed)
    norm = keras.layers.Normalization(name="standardize")
    norm.adapt(codes)
    layers = [keras.Input(codes.shape[1:]), norm]
    if hidden:
        layers.append(keras.layers.Dense(hidden, activation="relu"))
    head = keras.Sequential([*layers, keras.layers.Dense(10)], name=f"head_{hidden}")
    head.compile(
        optimizer=keras.optimizers.Adam(1e-3),
        loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True),
        metrics=["accuracy"],
    )
    head.fit(codes, labels, batch_size=128, epochs=epochs, verbose=0)
    return head


def main(argv: list[str] | None = None) -> dict:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--encoder", required=True, help="exported version directory BASE/<version>")
    p.add_argument("--limit", type=int, default=None, help="first N training examples")
    p.add_argument("--test-limit", type=int, default=None, help="first N test examples")
    p.add_argument("--epochs", type=int, default=20, help="epochs of the classifier heads")
    p.add_argument("--hidden", type=int, default=128, help="hidden units of the MLP head")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--idx-dir", default=IDX_DIR, help="Fashion-MNIST IDX files (fallback)")
    p.add_argument("--out", type=Path, default=DEFAULT_OUT, help="JSON report")
    args = p.parse_args(argv)

    started = time.perf_counter()
    encoder = keras.layers.TFSMLayer(args.encoder, call_endpoint="serving_default", trainable=False)
    x_train, y_train, source = load_split("train", args.limit, args.idx_dir)
    x_test, y_test, _ = load_split("test", args.test_limit, args.idx_dir)
    codes_train = encode(encoder, x_train)

    accuracy = {}
    for name, hidden in (("linear", 0), ("mlp", args.hidden)):
        head = train_head(codes_train, y_train, hidden, args.epochs, args.seed)
        images = keras.Input(x_test.shape[1:], name="images")
        classifier = keras.Model(images, head(encoder(images)["mean"]), name=f"classifier_{name}")
        logits = classifier.predict(x_test, batch_size=500, verbose=0)  # end to end
        accuracy[name] = float(np.mean(np.argmax(logits, -1) == y_test))

    meta_path = Path(args.encoder) / "assets.extra" / "tf_infomax.json"
    report = {
        "encoder": str(Path(args.encoder).resolve()),
        "encoder_metadata": json.loads(meta_path.read_text()) if meta_path.exists() else None,
        "data": source,
        "n_train": len(x_train),
        "n_test": len(x_test),
        "codes": "posterior mean (serving_default 'mean')",
        "head_epochs": args.epochs,
        "mlp_hidden": args.hidden,
        "test_accuracy": accuracy,
        "wall_time_s": round(time.perf_counter() - started, 1),
        "versions": {"tensorflow": tf.__version__, "keras": keras.__version__},
        "python": platform.python_version(),
    }
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(report, indent=1) + "\n")
    print(json.dumps({"test_accuracy": accuracy, "n_train": len(x_train)}), f"-> {args.out}")
    return report


if __name__ == "__main__":
    main()
