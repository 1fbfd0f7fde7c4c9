"""The TensorBoard embedding projector of held-out posterior means (a run's ``logs/projector``).

The folder holds

* ``codes.tsv``: one posterior mean E_q[z|x] per line (tab-separated), the embedding;
* ``metadata.tsv``: a header ``index<TAB>label``, then one row per code (label ``none`` for
  unlabelled data);
* ``sprite.png``: the images of the codes tiled row by row (``single_image_dim`` W x H);
* ``projector_config.pbtxt``: the ``ProjectorConfig`` naming them (paths relative to it),
  written last;
* an event file with a ``projector`` text summary, so ``tensorboard --logdir RUN/logs`` lists
  the folder as a run and its PROJECTOR tab finds the embedding.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import tensorflow as tf
from google.protobuf import text_format
from tensorboard.plugins import projector

from tf_infomax.runs import atomic_path

TENSORS_FILE, METADATA_FILE, SPRITE_FILE = "codes.tsv", "metadata.tsv", "sprite.png"
CONFIG_FILE = "projector_config.pbtxt"  # tensorboard.plugins.projector.metadata.PROJECTOR_FILENAME
TENSOR_NAME = "posterior_mean"
MAX_SPRITE_SIDE = 8192  # pixels: the projector's limit on the sprite image
DEFAULT_POINTS = 2000


def collect(model, dataset: tf.data.Dataset, max_points: int):
    """(images, posterior means, labels or None) of the first ``max_points`` examples."""
    from tf_infomax.metrics.encodings import as_encode_fn, iterate_images

    encode = as_encode_fn(model)
    images, means, labels = [], [], []
    for x, y in iterate_images(dataset, max_points):
        images.append(np.asarray(x, np.float32))
        means.append(np.asarray(encode(tf.convert_to_tensor(x))[0], np.float32))
        labels.append(None if y is None else np.asarray(y, np.int64).reshape(-1))
    if not means:
        raise ValueError("The dataset is empty: no codes for the projector.")
    all_labels = None if any(y is None for y in labels) else np.concatenate(labels)
    if all_labels is not None and np.all(all_labels < 0):
        all_labels = None  # unlabelled datasets yield -1
    return np.concatenate(images), np.concatenate(means), all_labels


def sprite(images: np.ndarray) -> np.ndarray | None:
    """(N, H, W, C) images in [0, 1] -> one uint8 square-ish sprite, or None if too large."""
    count, height, width, channels = images.shape
    side = int(np.ceil(np.sqrt(count)))
    if side * max(height, width) > MAX_SPRITE_SIDE:
        return None
    grid = np.zeros((side * side, height, width, channels), np.float32)
    grid[:count] = images
    grid = grid.reshape(side, side, height, width, channels).transpose(0, 2, 1, 3, 4)
    grid = grid.reshape(side * height, side * width, channels)
    return np.round(np.clip(grid, 0.0, 1.0) * 255).astype(np.uint8)


def write_projector(
    out_dir: str | Path,
    codes: np.ndarray,
    images: np.ndarray | None = None,
    labels: np.ndarray | None = None,
    *,
    description: str = "",
) -> dict:
    """Write the projector files of ``codes`` (N, D) to ``out_dir``; return their record.

    Returns:
        {"dir", "num_points", "latent_dim", "files": {role: name}, ...} (a ``note`` when the
        sprite was left out because it would exceed the projector's 8192-pixel limit).
    """
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    codes = np.asarray(codes, np.float32)
    np.savetxt(out / TENSORS_FILE, codes, delimiter="\t", fmt="%.6g")
    rows = ["index\tlabel"] + [
        f"{i}\t{'none' if labels is None else int(labels[i])}" for i in range(len(codes))
    ]
    (out / METADATA_FILE).write_text("\n".join(rows) + "\n")
    config = projector.ProjectorConfig()
    embedding = config.embeddings.add()
    embedding.tensor_name = TENSOR_NAME
    embedding.tensor_path = TENSORS_FILE
    embedding.tensor_shape.extend(codes.shape)
    embedding.metadata_path = METADATA_FILE
    record = {
        "dir": str(out),
        "num_points": int(codes.shape[0]),
        "latent_dim": int(codes.shape[1]),
        "files": {"tensors": TENSORS_FILE, "metadata": METADATA_FILE, "config": CONFIG_FILE},
    }
    picture = None if images is None else sprite(np.asarray(images, np.float32))
    if picture is not None:
        tf.io.write_file(str(out / SPRITE_FILE), tf.io.encode_png(picture))
        embedding.sprite.image_path = SPRITE_FILE
        embedding.sprite.single_image_dim.extend([images.shape[2], images.shape[1]])
        record["files"]["sprite"] = SPRITE_FILE
    elif images is not None:
        record["note"] = f"no sprite: {len(images)} images exceed {MAX_SPRITE_SIDE} pixels"
    with atomic_path(out / CONFIG_FILE) as tmp:
        tmp.write_text(text_format.MessageToString(config))
    for old in out.glob("events.out.tfevents.*"):  # one description per folder
        old.unlink()
    writer = tf.summary.create_file_writer(str(out))
    with writer.as_default(step=0):
        tf.summary.text("projector", description or f"{len(codes)} posterior means")
    writer.close()
    return record


def write_model_projector(
    model, dataset: tf.data.Dataset, out_dir: str | Path, max_points: int, *, description=""
) -> dict:
    """The projector of ``model``'s posterior means on the first ``max_points`` examples."""
    images, codes, labels = collect(model, dataset, max_points)
    return write_projector(out_dir, codes, images, labels, description=description)


def held_out(config, limit: int | None) -> tf.data.Dataset:
    """The first ``limit`` examples of a run's validation split (``config``: its
    ``TrainConfig``), capped by a non-zero ``validation_limit``, in order, as evaluation
    reads them; the training split's when validation is off (``validation_limit`` 0)."""
    from tf_infomax.metrics.evaluate import evaluation_data

    limits = [n for n in (limit, config.data.validation_limit) if n]
    validated = config.data.validation_limit != 0  # else the first training examples
    return evaluation_data(
        config,
        config.data.validation_split if validated else config.data.train_split,
        batch_size=config.optimization.batch_size,
        limit=min(limits) if limits else None,
        seed=config.seed,
    )


def write_run_projector(run, config, model) -> dict | None:
    """At the end of training: the projector of the first ``projector_points`` validation codes
    in ``run.projector_dir`` (None when ``projector_points`` is 0)."""
    points = config.tensorboard.projector_points
    if not points:
        return None
    split = config.data.validation_split
    return write_model_projector(
        model,
        held_out(config, points),
        run.projector_dir,
        points,
        description=f"posterior means of the {split} split at the end of training",
    )
