"""``load``: batched, prefetched ``tf.data`` pipelines of images in [0, 1] and int64 labels.

Per-example work (TFDS decoding, CelebA's crop and resize) runs once, before an in-memory
``cache`` of compact ``uint8`` images (a ``dir:`` source larger than the memory budget is
decoded once to memory-mapped files instead, ``tf_infomax.data.disk_cache``, and each batch
is gathered from them). A shuffled (or binarized) pipeline then takes, at the
start of each iteration, the cached split as one tensor, permutes its indices statelessly by
(seed, epoch) and gathers whole batches, which it converts (or binarizes) in one vectorized map.
"""

from __future__ import annotations

import os

import numpy as np
import tensorflow as tf
import tensorflow_datasets as tfds

from tf_infomax.data import images as images_ops
from tf_infomax.data import sklearn_digits, sources
from tf_infomax.data.epoch import DataEpoch, epoch_variable
from tf_infomax.data.holdout import Holdout
from tf_infomax.data.registry import DatasetSpec, dataset_info
from tf_infomax.data.source_name import parse_source
from tf_infomax.data.user_source import SourceOptions, open_source

AUTOTUNE = tf.data.AUTOTUNE
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
    epoch: int | tf.Variable | DataEpoch | None = None,
    image_size: tuple[int, int] | None = None,
    channels: int | None = None,
    skip_unreadable: bool = False,
    holdout: Holdout | None = None,
) -> tf.data.Dataset:
    """Return a pipeline of ``(images, labels)`` batches of dataset ``name``.

    Args:
        name: one of ``DATASET_NAMES``, or ``dir:PATH`` (a folder of images, optionally in
            class subfolders, and in ``train/``/``test/`` split folders), ``npz:PATH`` (arrays
            ``x`` [and ``y``]) or ``tfds:NAME[:CONFIG]`` (docs/data.md, "Your own data").
        split: ``"train"``, ``"test"`` (or ``"validation"`` where the dataset has one); TFDS
            datasets also accept TFDS slicing such as ``"train[:90%]"``.
        batch_size: the global batch size (a distribution strategy splits it across replicas).
        shuffle: shuffle the whole split each epoch (seeded); default ``True`` for the train
            split.
        seed: seed of the shuffling and of the binarization noise. Epoch ``e``'s order and
            noise are a function of (seed, e) only: the same in every process and pipeline,
            different between epochs.
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
        epoch: which epoch an iteration of a shuffled or binarized pipeline is: a
            :class:`DataEpoch` callback (pass it to ``fit`` too, so a resumed run continues
            the sequence of orders) or a ``tf.Variable``, read when each iteration starts; an
            int, a fixed epoch; ``None``, a private counter of this pipeline's iterations
            (0, 1, 2, ... in every process). With ``repeat``, the passes of one iteration are
            epochs e, e + 1, ...
        image_size: (H, W) to resize every image to (bilinear, antialiased); None: as stored
            (a folder of several sizes then is an error).
        channels: 1 (grey) or 3 (RGB) to convert every image to; None: as stored (a folder
            mixing grey and RGB images is converted to RGB, with a warning).
        skip_unreadable: ``dir:`` only: leave out files that do not decode (a warning counts
            them) instead of raising.
        holdout: take only the held-out part of the split, or only the rest (:class:`Holdout`).

    Returns:
        A ``tf.data.Dataset`` of ``float32`` NHWC images in [0, 1] (and ``int64`` labels),
        prefetched, with ``AutoShardPolicy.DATA``.

    Raises:
        ValueError: unknown dataset or split, or a bad argument.
        DatasetNotFoundError: the dataset is neither prepared nor obtainable.
        IDXFormatError: the local Fashion-MNIST files are corrupt.
    """
    source_options = dict(image_size=image_size, channels=channels, skip_unreadable=skip_unreadable)
    spec = dataset_info(name, **source_options, data_dir=data_dir, download=download)
    base_split = _check_split(spec, split)
    if not isinstance(batch_size, int) or batch_size < 1:
        raise ValueError(f"batch_size must be a positive int, got {batch_size!r}.")
    if limit is not None and (not isinstance(limit, int) or limit < 1):
        raise ValueError(f"limit must be a positive int or None, got {limit!r}.")
    is_train = base_split == "train"
    shuffle = is_train if shuffle is None else shuffle
    drop_remainder = is_train if drop_remainder is None else drop_remainder
    epochs = _epochs(epoch)

    on_disk = None  # memory-mapped images of a source decoded to disk; examples are indices
    if parse_source(spec.name) is not None:
        options = SourceOptions(**source_options, data_dir=data_dir)
        source = open_source(name, options, download=download)
        examples = source.examples(split)
        on_disk = source.disk_images.get(base_split)
    else:
        examples = _examples(spec, split, data_dir=data_dir, download=download)
        if image_size is not None or channels is not None:
            examples = examples.map(
                lambda x, y: (images_ops.fit(x, spec.image_shape[:2], spec.image_shape[2]), y),
                num_parallel_calls=AUTOTUNE,
            )
    if holdout is not None:
        examples = holdout.apply(examples)
    if limit is not None:
        examples = examples.take(limit)
    if cache and on_disk is None:
        examples = examples.cache() if cache is True else examples.cache(os.fspath(cache))
    binarize = binarize and not spec.binary
    if shuffle or binarize:
        batches = _keyed_batches(
            examples, epochs, batch_size, drop_remainder, shuffle, repeat, seed
        )
        convert = (
            _binarizer(spec, seed, include_labels) if binarize else _converter(spec, include_labels)
        )
    else:
        if repeat:
            examples = examples.repeat()
        batches = examples.batch(batch_size, drop_remainder=drop_remainder)
        convert = _converter(spec, include_labels)
    if on_disk is not None:
        batches = batches.map(_disk_gatherer(on_disk), num_parallel_calls=AUTOTUNE)
    batches = batches.map(convert, num_parallel_calls=AUTOTUNE)
    return batches.prefetch(AUTOTUNE).with_options(_options())


def _disk_gatherer(images: np.ndarray):
    """Replaces a batch of indices by those images, read from the memory-mapped array."""

    def read(indices: np.ndarray) -> np.ndarray:
        return np.asarray(images[indices])

    def gather(indices: tf.Tensor, labels: tf.Tensor, *key: tf.Tensor):
        batch = tf.numpy_function(read, [indices], tf.uint8, stateful=False)
        return (tf.ensure_shape(batch, (None, *images.shape[1:])), labels, *key)

    return gather


def _epochs(epoch: int | tf.Variable | DataEpoch | None) -> tf.data.Dataset:
    """One int64 element per iteration: the epoch that iteration starts at."""
    start = tf.data.Dataset.from_tensors(tf.constant(0, tf.int64))
    if isinstance(epoch, DataEpoch):
        epoch = epoch.variable
    if epoch is None:
        counter = epoch_variable()
        return start.map(lambda _: counter.assign_add(1) - 1)
    if isinstance(epoch, tf.Variable):
        return start.map(lambda _: tf.cast(epoch.read_value(), tf.int64))
    if isinstance(epoch, int) and not isinstance(epoch, bool) and epoch >= 0:
        return start.map(lambda _: tf.constant(epoch, tf.int64))
    raise ValueError(
        f"epoch must be a non-negative int, a tf.Variable, a data.DataEpoch or None; got {epoch!r}."
    )


def _keyed_batches(
    examples: tf.data.Dataset,
    epochs: tf.data.Dataset,
    batch_size: int,
    drop_remainder: bool,
    shuffle: bool,
    repeat: bool,
    seed: int,
) -> tf.data.Dataset:
    """``(images, labels, key)`` batches whose order is a function of (seed, epoch) alone.

    Each iteration reads its start epoch e, takes the cached split as one tensor, permutes its
    indices with ``stateless_shuffle`` keyed by (seed, e) (by (seed, e + 1), ... for the passes
    of ``repeat``) and gathers whole batches; ``key`` = (e, batch index) seeds their noise.
    """
    size = int(examples.cardinality())
    if size < 0:  # unknown (never for load's own sources): count once
        size = int(examples.reduce(0, lambda count, _: count + 1))

    def iteration(start):
        images, labels = examples.batch(max(size, 1)).get_single_element()
        n = tf.shape(labels, out_type=tf.int64)[0]

        def pass_indices(epoch):
            indices = tf.range(n)
            if shuffle:
                key = tf.stack([tf.constant(seed, tf.int64), epoch])
                indices = tf.random.experimental.stateless_shuffle(indices, seed=key)
            return tf.data.Dataset.from_tensor_slices(indices)

        stop = tf.int64.max if repeat else start + 1
        indices = tf.data.Dataset.range(start, stop).flat_map(pass_indices)
        index_batches = indices.batch(batch_size, drop_remainder=drop_remainder).enumerate()
        return index_batches.map(
            lambda i, batch: (
                tf.gather(images, batch),
                tf.gather(labels, batch),
                tf.stack([start, tf.cast(i, tf.int64)]),
            )
        )

    if repeat:
        cardinality = tf.data.INFINITE_CARDINALITY
    else:
        cardinality = size // batch_size if drop_remainder else -(-size // batch_size)
    batches = epochs.flat_map(iteration)
    return batches.apply(tf.data.experimental.assert_cardinality(cardinality))


def _check_split(spec: DatasetSpec, split: str) -> str:
    """Return the split's base name (before any TFDS slicing); reject unknown ones."""
    base = split.split("[", 1)[0].strip()
    sliced = base != split
    if base not in spec.splits or (sliced and spec.tfds_name is None):
        hint = " (TFDS slicing only on TFDS datasets)." if spec.tfds_name is None else "."
        if parse_source(spec.name) is not None and base not in spec.splits:
            hint = "." + (
                " Hold out part of the training images with --validation-split 0.1 (or add "
                "train/ and test/ subfolders)."
            )
        raise ValueError(f"{spec.name} has splits {', '.join(spec.splits)}; got {split!r}{hint}")
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
    def convert(images: tf.Tensor, labels: tf.Tensor, key: tf.Tensor | None = None):
        images = _to_unit(images, spec)
        return (images, labels) if include_labels else images

    return convert


def _binarizer(spec: DatasetSpec, seed: int, include_labels: bool):
    def binarize(images: tf.Tensor, labels: tf.Tensor, key: tf.Tensor):
        """Bernoulli(intensity) pixels, the noise keyed by (seed, epoch, batch index)."""
        images = _to_unit(images, spec)
        pair = tf.random.experimental.stateless_fold_in(
            tf.stack([tf.constant(seed, tf.int64), key[0]]), key[1]
        )
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
