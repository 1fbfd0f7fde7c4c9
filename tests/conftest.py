"""Shared test helpers: tiny models with distinct sizes so swapped axes fail."""

from __future__ import annotations

import os

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
# The package's default (tf_infomax/__init__.py); keras below imports TensorFlow first.
os.environ.setdefault("TF_ENABLE_ONEDNN_OPTS", "1")

import keras  # noqa: E402
import numpy as np  # noqa: E402
import pytest  # noqa: E402
import tensorflow as tf  # noqa: E402
from google.protobuf import text_format  # noqa: E402
from tensorboard.plugins.projector import ProjectorConfig  # noqa: E402

from tf_infomax.models import InfoMaxVAE, method_weights  # noqa: E402
from tf_infomax.networks import MLPCritic, fc_decoder, fc_encoder  # noqa: E402

IMAGE_SHAPE = (6, 5, 1)
LATENT = 3


def tiny_model(method: str = "infomax-vae", *, estimator="f-kl", track_mi=False, seed=0, **kw):
    """An InfoMaxVAE of the given method on 6x5x1 images with 7-unit nets."""
    keras.utils.set_random_seed(seed)
    weights = method_weights(method, **kw)
    encoder = fc_encoder(IMAGE_SHAPE, LATENT, units=7, depth=2)
    decoder = fc_decoder(IMAGE_SHAPE, LATENT, units=7, depth=2)
    critic = MLPCritic((9, 4)) if (weights.alpha > 0 or track_mi) else None
    return InfoMaxVAE(
        encoder,
        decoder,
        critic,
        estimator=estimator,
        seed=seed,
        **weights.as_dict(),
    )


def tiny_images(n: int = 40, seed: int = 0) -> np.ndarray:
    return np.random.default_rng(seed).random((n, *IMAGE_SHAPE), dtype=np.float32)


@pytest.fixture
def images():
    return tiny_images()


# ------------------------------------------------------------------ TensorBoard files
def read_events(folder) -> dict[str, list]:
    """tag -> [(step, value as an array, plugin data)] of every event file in ``folder``."""
    found: dict[str, list] = {}
    for path in sorted(tf.io.gfile.glob(f"{folder}/events.out.tfevents.*")):
        for event in tf.compat.v1.train.summary_iterator(path):
            for value in event.summary.value:
                found.setdefault(value.tag, []).append(
                    (event.step, tf.make_ndarray(value.tensor), value.metadata.plugin_data)
                )
    return found


def decoded_shape(entry) -> tuple:
    """(height, width, channels) of an image summary (its tensor holds w, h, PNG bytes)."""
    _, tensor, plugin = entry
    assert plugin.plugin_name == "images"
    return tuple(tf.io.decode_png(tensor[2]).shape)


def projector_files(folder) -> tuple[ProjectorConfig, np.ndarray, list[str]]:
    """The projector config of ``folder``, its codes and metadata lines; checks its files exist."""
    config = text_format.Parse((folder / "projector_config.pbtxt").read_text(), ProjectorConfig())
    (embedding,) = config.embeddings
    for name in (embedding.tensor_path, embedding.metadata_path, embedding.sprite.image_path):
        assert (folder / name).is_file(), name  # names files that exist, beside the config
    codes = np.loadtxt(folder / embedding.tensor_path, delimiter="\t", ndmin=2)
    metadata = (folder / embedding.metadata_path).read_text().splitlines()
    return config, codes, metadata
