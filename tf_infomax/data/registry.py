"""Static description of the supported datasets."""

from __future__ import annotations

import dataclasses

SKLEARN_DIGITS_NUM_TRAIN = 1500
SKLEARN_DIGITS_NUM_TEST = 297  # 1797 images in all


@dataclasses.dataclass(frozen=True)
class DatasetSpec:
    """What a model needs to know about a dataset.

    Attributes:
        name: our name for the dataset (one of ``DATASET_NAMES``).
        image_shape: ``(H, W, C)`` of the images the pipeline yields.
        num_classes: number of label classes, ``None`` if the dataset has no labels
            (the pipeline then yields label ``-1``).
        num_train: examples in the ``train`` split.
        num_test: examples in the ``test`` split, ``None`` if unknown.
        binary: whether the stored pixels are already in {0, 1}.
        tfds_name: the TFDS builder name, ``None`` for non-TFDS datasets.
        splits: split names accepted by :func:`tf_infomax.data.load`.
    """

    name: str
    image_shape: tuple[int, int, int]
    num_classes: int | None
    num_train: int
    num_test: int | None
    binary: bool = False
    tfds_name: str | None = None
    splits: tuple[str, ...] = ("train", "test")

    @property
    def has_labels(self) -> bool:
        return self.num_classes is not None


_SPECS = (
    DatasetSpec("mnist", (28, 28, 1), 10, 60_000, 10_000, tfds_name="mnist"),
    DatasetSpec(
        "binarized_mnist",
        (28, 28, 1),
        None,
        50_000,
        10_000,
        binary=True,
        tfds_name="binarized_mnist",
        splits=("train", "validation", "test"),
    ),
    DatasetSpec("fashion_mnist", (28, 28, 1), 10, 60_000, 10_000, tfds_name="fashion_mnist"),
    DatasetSpec("cifar10", (32, 32, 3), 10, 50_000, 10_000, tfds_name="cifar10"),
    DatasetSpec("cifar100", (32, 32, 3), 100, 50_000, 10_000, tfds_name="cifar100"),
    DatasetSpec(
        "celeb_a",
        (64, 64, 3),
        None,
        162_770,
        19_962,
        tfds_name="celeb_a",
        splits=("train", "validation", "test"),
    ),
    DatasetSpec(
        "sklearn_digits", (28, 28, 1), 10, SKLEARN_DIGITS_NUM_TRAIN, SKLEARN_DIGITS_NUM_TEST
    ),
)
_BY_NAME = {spec.name: spec for spec in _SPECS}

DATASET_NAMES: tuple[str, ...] = tuple(_BY_NAME)


def dataset_info(
    name: str,
    *,
    image_size: tuple[int, int] | None = None,
    channels: int | None = None,
    skip_unreadable: bool = False,
    data_dir: str | None = None,
    download: bool | None = None,
) -> DatasetSpec:
    """Return the :class:`DatasetSpec` of ``name`` (case-insensitive, ``-`` same as ``_``).

    ``name`` may also be ``dir:PATH``, ``npz:PATH`` or ``tfds:NAME[:CONFIG]``: the source is
    then read (``tf_infomax.data.open_source``). ``image_size`` (H, W) and ``channels`` (1 or
    3) give the shape the pipeline converts images to.
    """
    from tf_infomax.data.source_name import parse_source, valid_forms

    if parse_source(name) is not None:
        from tf_infomax.data.user_source import SourceOptions, open_source

        options = SourceOptions(image_size, channels, skip_unreadable, data_dir)
        return open_source(name, options, download=download).spec
    key = name.strip().lower().replace("-", "_")
    try:
        spec = _BY_NAME[key]
    except KeyError:
        message = f"Unknown dataset {name!r}; choose {valid_forms(DATASET_NAMES)}."
        raise ValueError(message) from None
    if image_size is None and channels is None:
        return spec
    from tf_infomax.data.user_source import SourceOptions

    options = SourceOptions(image_size, channels)  # validates them
    height, width, stored = spec.image_shape
    shape = (*(options.image_size or (height, width)), options.channels or stored)
    return dataclasses.replace(spec, image_shape=shape)
