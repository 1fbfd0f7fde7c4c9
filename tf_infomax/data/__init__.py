"""Datasets for tf-infomax: TFDS-based ``tf.data`` pipelines that also work offline.

>>> from tf_infomax import data
>>> ds = data.load("fashion_mnist", "train", batch_size=100)  # (images, labels) batches
>>> data.dataset_info("fashion_mnist").image_shape
(28, 28, 1)
>>> ds = data.load("dir:photos", batch_size=50, image_size=(64, 64))  # your own images
"""

from tf_infomax.data.epoch import DataEpoch
from tf_infomax.data.errors import DatasetNotFoundError, IDXFormatError
from tf_infomax.data.fashion_mnist_local import prepare_fashion_mnist_offline
from tf_infomax.data.holdout import Holdout, holdout_fraction
from tf_infomax.data.pipeline import load
from tf_infomax.data.registry import DATASET_NAMES, DatasetSpec, dataset_info
from tf_infomax.data.source_name import parse_source, valid_forms
from tf_infomax.data.sources import OFFLINE_ENV
from tf_infomax.data.user_source import (
    SourceOptions,
    UserSource,
    check_record,
    open_source,
    warn_if_changed,
)

__all__ = [
    "DATASET_NAMES",
    "OFFLINE_ENV",
    "DataEpoch",
    "DatasetNotFoundError",
    "DatasetSpec",
    "Holdout",
    "IDXFormatError",
    "SourceOptions",
    "UserSource",
    "check_record",
    "dataset_info",
    "holdout_fraction",
    "load",
    "open_source",
    "parse_source",
    "prepare_fashion_mnist_offline",
    "valid_forms",
    "warn_if_changed",
]
