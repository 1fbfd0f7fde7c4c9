"""Datasets for tf-infomax: TFDS-based ``tf.data`` pipelines that also work offline.

>>> from tf_infomax import data
>>> ds = data.load("fashion_mnist", "train", batch_size=100)  # (images, labels) batches
>>> data.dataset_info("fashion_mnist").image_shape
(28, 28, 1)
"""

from tf_infomax.data.epoch import DataEpoch
from tf_infomax.data.errors import DatasetNotFoundError, IDXFormatError
from tf_infomax.data.fashion_mnist_local import prepare_fashion_mnist_offline
from tf_infomax.data.pipeline import load
from tf_infomax.data.registry import DATASET_NAMES, DatasetSpec, dataset_info
from tf_infomax.data.sources import OFFLINE_ENV

__all__ = [
    "DATASET_NAMES",
    "OFFLINE_ENV",
    "DataEpoch",
    "DatasetNotFoundError",
    "DatasetSpec",
    "IDXFormatError",
    "dataset_info",
    "load",
    "prepare_fashion_mnist_offline",
]
