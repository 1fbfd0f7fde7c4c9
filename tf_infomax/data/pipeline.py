"""``load``: batched, prefetched ``tf.data`` pipelines of images in [0, 1] and int64 labels.

Per-example work (TFDS decoding, CelebA's crop and resize) runs once, before an in-memory
``cache`` of compact ``uint8`` images; each epoch then only shuffles cached elements, batches
them and converts (or binarizes) whole batches in one vectorized map.
"""

from __future__ import annotations

import os

import tensorflow as tf
import tensorflow_datasets as tfds

from tf_infomax.data import sklearn_digits, sources
from tf_infomax.data.registry import DatasetSpec, dataset_info

AUTOTUNE = tf.data.AUTOTUNE
MAX_SHUFFLE_BUFFER = 60_000  # whole-split shuffle for every dataset but CelebA
CELEBA_CROP = 148  # central square of the 218x178 CelebA images, then resized
UNLABELED = -1  # label yielded by datasets without class labels


def load(
    name: str,
    split: str = "train",
    *,
    batch_size: int,
    shuffle: bool | None = None,
    seed: int = 0,
    limit: int | None = None,
    binarize: bool = False,
    drop_remainder: bool | None = None,
    data_dir: str | os.PathLike | None = None,
    repeat: bool = False,
    cache: bool | str = True,
    include_labels: bool = True,
    download: bool | None = None,
) -> tf.data.Dataset:
    """Return a pipeline of ``(images, labels)`` batches of dataset ``name``.

    Args:
        name: one of ``DATASET_NAMES``.
        split: ``"train"``, ``"test"`` (or ``"validation"`` where the dataset has one); TFDS
            datasets also accept TFDS slicing such as ``"train[:90%]"``.
        batch_size: the global batch size (a distribution strategy splits it across replicas).
        shuffle: shuffle examples each epoch (seeded); default ``True`` for the train split.
        seed: seed of the shuffling and of the binarization noise. The order and noise differ
            from epoch to epoch but are the same for every pipeline built with the same seed.
        limit: use only the first ``limit`` examples of the split (before shuffling).
        binarize: dynamic binarization: each epoch, every pixel becomes 1 with probability equal
            to its intensity. A no-op on ``binarized_mnist``, which is binary already.
        drop_remainder: drop the last incomplete batch; default ``True`` for the train split.
        data_dir: TFDS data directory; default TFDS's (``$TFDS_DATA_DIR`` or
            ``~/tensorflow_datasets``).
        repeat: repeat forever (the shuffle order still changes every epoch).
        cache: ``True`` caches the decoded ``uint8`` examples in memory, a string caches them
            in files with that prefix, ``False`` does not cache.
        include_labels: yield ``(images, labels)``; if ``False`` yield images only. Datasets
            without classes (``binarized_mnist``, ``celeb_a``) yield label ``-1``.
        download: whether TFDS may download a dataset that is not prepared; ``None`` means yes
            unless ``$TF_INFOMAX_OFFLINE=1`` (and only after a quick reachability check).
            Fashion-MNIST is built from local IDX files first when they are installed.

    Returns:
        A ``tf.data.Dataset`` of ``float32`` NHWC images in [0, 1] (and ``int64`` labels),
        prefetched, with ``AutoShardPolicy.DATA``.

    Raises:
        ValueError: unknown dataset or split, or a bad argument.
        DatasetNotFoundError: the dataset is neither prepared nor obtainable.
        IDXFormatError: the local Fashion-MNIST files are corrupt.
    """
    spec = dataset_info(name)
    base_split = _check_split(spec, split)
    if not isinstance(batch_size, int) or batch_size < 1:
        raise ValueError(f"batch_size must be a positive int, got {batch_size!r}.")
    if limit is not None and (not isinstance(limit, int) or limit < 1):
        raise ValueError(f"limit must be a positive int or None, got {limit!r}.")
    is_train = base_split == "train"
    shuffle = is_train if shuffle is None else shuffle
    drop_remainder = is_train if drop_remainder is None else drop_remainder

    examples = _examples(spec, split, data_dir=data_dir, download=download)
    if limit is not None:
        examples = examples.take(limit)
    if cache:
        examples = examples.cache() if cache is True else examples.cache(os.fspath(cache))
    if shuffle:
        size = int(examples.cardinality())
        buffer = min(size, MAX_SHUFFLE_BUFFER) if size > 0 else MAX_SHUFFLE_BUFFER
        examples = examples.shuffle(buffer, seed=seed, reshuffle_each_iteration=True)
    if repeat:
        examples = examples.repeat()
    batches = examples.batch(batch_size, drop_remainder=drop_remainder)

    if binarize and not spec.binary:
        noise_seeds = tf.data.Dataset.random(seed=seed, rerandomize_each_iteration=True)
        batches = tf.data.Dataset.zip(batches, noise_seeds)
        convert = _binarizer(spec, seed, include_labels)
    else:
        convert = _converter(spec, include_labels)
    batches = batches.map(convert, num_parallel_calls=AUTOTUNE)
    return batches.prefetch(AUTOTUNE).with_options(_options())


def _check_split(spec: DatasetSpec, split: str) -> str:
    """Return the split's base name (before any TFDS slicing); reject unknown ones."""
    base = split.split("[", 1)[0].strip()
    sliced = base != split
    if base not in spec.splits or (sliced and spec.tfds_name is None):
        raise ValueError(
            f"{spec.name} has splits {', '.join(spec.splits)}; got {split!r}"
            + (" (TFDS slicing only on TFDS datasets)." if spec.tfds_name is None else ".")
        )
    return base


def _examples(spec: DatasetSpec, split: str, *, data_dir, download: bool | None) -> tf.data.Dataset:
    """Unbatched ``(image, label)`` pairs: ``uint8`` images of ``spec.image_shape`` (or float)."""
    if spec.tfds_name is None:
        return tf.data.Dataset.from_tensor_slices(sklearn_digits.load_split(split))
    builder = sources.tfds_builder(spec, data_dir=data_dir, download=download)
    ds = builder.as_dataset(
        split=split,
        shuffle_files=False,
        read_config=tfds.ReadConfig(try_autocache=False),  # we cache after decoding ourselves
    )

    def select(example: dict) -> tuple[tf.Tensor, tf.Tensor]:
        image = example["image"]
        if spec.name == "celeb_a":
            image = center_crop_resize(image, CELEBA_CROP, spec.image_shape[0])
        label = example["label"] if spec.has_labels else tf.constant(UNLABELED, tf.int64)
        return tf.ensure_shape(image, spec.image_shape), tf.cast(label, tf.int64)

    return ds.map(select, num_parallel_calls=AUTOTUNE)


def center_crop_resize(image: tf.Tensor, crop: int, size: int) -> tf.Tensor:
    """Central ``crop x crop`` square of a ``uint8`` HWC image, antialiased-resized to ``size``."""
    height, width = tf.shape(image)[0], tf.shape(image)[1]
    top, left = (height - crop) // 2, (width - crop) // 2
    square = image[top : top + crop, left : left + crop]
    resized = tf.image.resize(square, (size, size), method="bilinear", antialias=True)
    return tf.saturate_cast(tf.round(resized), tf.uint8)


def _to_unit(images: tf.Tensor, spec: DatasetSpec) -> tf.Tensor:
    if images.dtype != tf.uint8:  # already float in [0, 1] (sklearn_digits)
        return tf.cast(images, tf.float32)
    if spec.binary:  # stored as {0, 1}; "> 0" also accepts {0, 255}
        return tf.cast(images > 0, tf.float32)
    return tf.cast(images, tf.float32) / 255.0


def _converter(spec: DatasetSpec, include_labels: bool):
    def convert(images: tf.Tensor, labels: tf.Tensor):
        images = _to_unit(images, spec)
        return (images, labels) if include_labels else images

    return convert


def _binarizer(spec: DatasetSpec, seed: int, include_labels: bool):
    def binarize(batch: tuple[tf.Tensor, tf.Tensor], noise_seed: tf.Tensor):
        images, labels = batch
        images = _to_unit(images, spec)
        pair = tf.stack([noise_seed, tf.constant(seed, tf.int64)])
        uniform = tf.random.stateless_uniform(tf.shape(images), seed=pair, dtype=tf.float32)
        images = tf.cast(uniform < images, tf.float32)
        return (images, labels) if include_labels else images

    return binarize


def _options() -> tf.data.Options:
    options = tf.data.Options()
    # TFDS splits here are single files: shard by element, not by file, under tf.distribute.
    options.experimental_distribute.auto_shard_policy = tf.data.experimental.AutoShardPolicy.DATA
    options.deterministic = True
    return options
