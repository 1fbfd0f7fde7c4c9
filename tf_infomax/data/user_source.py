"""Sources beside the registered datasets: ``dir:PATH``, ``npz:PATH`` and ``tfds:NAME[:CONFIG]``.

:func:`open_source` reads (decodes once, validates) a source and returns a :class:`UserSource`:
its :class:`DatasetSpec`, its examples per split and a record of what was read (path, number of
images, shape, splits, content fingerprint) that a run directory keeps as ``data.json``.
Sources are cached per process by (name, options, fingerprint), so a run's pipelines and its
checks decode the files once; a changed file changes the fingerprint and is read again.
"""

from __future__ import annotations

import collections
import dataclasses
import os
import warnings
from collections.abc import Callable

import numpy as np
import tensorflow as tf

from tf_infomax.data import arrays, disk_cache, image_folder
from tf_infomax.data import images as image_ops
from tf_infomax.data.errors import DatasetNotFoundError
from tf_infomax.data.registry import DatasetSpec
from tf_infomax.data.source_name import SourceName, parse_source

_CACHE: collections.OrderedDict = collections.OrderedDict()
_CACHE_SIZE = 4


@dataclasses.dataclass(frozen=True)
class SourceOptions:
    """How a source's images are made uniform (``DataConfig`` fields of the same names)."""

    image_size: tuple[int, int] | None = None
    channels: int | None = None
    skip_unreadable: bool = False
    data_dir: str | None = None

    def __post_init__(self):
        size = self.image_size
        if size is not None:
            size = tuple(int(s) for s in size)
            if len(size) == 1:
                size = size * 2
            if len(size) != 2 or min(size) < 1:
                raise ValueError(f"--image-size takes H W (two positive ints), got {size}.")
            object.__setattr__(self, "image_size", size)
        if self.channels not in (None, 1, 3):
            raise ValueError(f"--channels must be 1 (grey) or 3 (RGB), got {self.channels}.")


@dataclasses.dataclass
class UserSource:
    """A read source: its spec, a function split -> examples, and its record.

    ``disk_images`` holds the memory-mapped images of the splits decoded to disk
    (``tf_infomax.data.disk_cache``); their examples are (index, label) pairs.
    """

    spec: DatasetSpec
    examples: Callable[[str], tf.data.Dataset]
    record: dict
    disk_images: dict[str, np.ndarray] = dataclasses.field(default_factory=dict)


def fingerprint(source: SourceName, data_dir: str | None = None) -> str:
    """The content fingerprint of a source, computed without decoding any image."""
    if source.kind == "dir":
        return image_folder.scan(source.target).fingerprint()
    if source.kind == "npz":
        if not os.path.isfile(source.target):
            raise FileNotFoundError(f"npz:{source.target}: no such file.")
        return arrays.fingerprint(source.target)
    return _tfds_fingerprint(_tfds_builder(source, data_dir, download=False, prepared_only=True))


def open_source(
    name: str, options: SourceOptions | None = None, *, download: bool | None = None
) -> UserSource:
    """Read the ``dir:``/``npz:``/``tfds:`` source ``name`` (cached while unchanged).

    Raises:
        ValueError, FileNotFoundError: the message names the file and the fix.
    """
    options = options or SourceOptions()
    source = parse_source(name)
    if source is None:
        raise ValueError(f"{name!r} is a registered dataset name, not a dir:/npz:/tfds: source.")
    if source.kind == "tfds":
        return _open_tfds(source, options, download)
    key = (source, options, fingerprint(source))
    if key not in _CACHE:
        _CACHE[key] = _open_arrays(source, options, key[2])
        while len(_CACHE) > _CACHE_SIZE:
            _CACHE.popitem(last=False)
    return _CACHE[key]


def _open_arrays(source: SourceName, options: SourceOptions, digest: str) -> UserSource:
    notes: dict = {}
    class_names = None
    if source.kind == "dir":
        folder = image_folder.scan(source.target)
        decode = dict(
            image_size=options.image_size,
            channels=options.channels,
            skip_unreadable=options.skip_unreadable,
        )
        stored = "files"
        size = image_folder.decoded_bytes(folder, options.image_size, options.channels)
        if size > disk_cache.memory_budget():
            directory = disk_cache.cache_root() / _disk_key(digest, options)
            splits, notes = image_folder.decode_to_disk(folder, directory, **decode)
            stored = f"files, decoded to {directory} (about {size / 2**20:.0f} MiB)"
        else:
            splits, notes = image_folder.decode(folder, **decode)
        class_names = folder.class_names
        if folder.ignored:
            notes["ignored_files"] = {"count": len(folder.ignored), "files": folder.ignored[:20]}
    else:
        read = arrays.read(source.target)
        splits = {split: (_fit_array(x, options), y) for split, (x, y) in read.items()}
        shapes = {split: x.shape[1:] for split, (x, _) in splits.items()}
        if len(set(shapes.values())) > 1:
            raise ValueError(
                f"npz:{source.target}: x and x_test differ in shape ({shapes}); pass "
                "--image-size H W (and --channels) to make them agree."
            )
        stored = str(next(iter(splits.values()))[0].dtype)
    labels = np.concatenate([y for _, y in splits.values()])
    labelled = bool((labels >= 0).any())
    if labelled and (labels < 0).any():
        raise ValueError(f"{source}: some splits have labels and others not; label all of them.")
    num_classes = None
    if labelled:
        num_classes = len(class_names) if class_names else int(labels.max()) + 1
    image_shape = tuple(int(d) for d in next(iter(splits.values()))[0].shape[1:])
    spec = _spec(source, image_shape, num_classes, {s: len(y) for s, (_, y) in splits.items()})

    def examples(split: str) -> tf.data.Dataset:
        images, labels = splits[split]
        if disk_cache.is_on_disk(images):  # (index, label): load gathers the images
            return tf.data.Dataset.from_tensor_slices((np.arange(len(labels)), labels))
        return tf.data.Dataset.from_tensor_slices(splits[split])

    record = {
        "dataset": str(source),
        "kind": source.kind,
        "path": source.target,
        "num_images": {split: len(y) for split, (_, y) in splits.items()},
        "image_shape": list(image_shape),
        "stored_as": stored,
        "num_classes": num_classes,
        "class_names": class_names,
        "fingerprint": digest,
        **notes,
    }
    disk = {split: x for split, (x, _) in splits.items() if disk_cache.is_on_disk(x)}
    return UserSource(spec, examples, record, disk)


def _disk_key(digest: str, options: SourceOptions) -> str:
    """The cache folder of a source read with ``options``: its fingerprint and the options."""
    size = "x".join(map(str, options.image_size)) if options.image_size else "stored"
    key = f"{digest.split(':')[-1][:24]}-{size}-c{options.channels or 'stored'}"
    return key + ("-skip" if options.skip_unreadable else "")


def _fit_array(x: np.ndarray, options: SourceOptions) -> np.ndarray:
    if options.image_size is None and options.channels in (None, x.shape[-1]):
        return x
    return image_ops.fit(tf.constant(x), options.image_size, options.channels).numpy()


def _spec(source, image_shape, num_classes, counts: dict, tfds_name=None) -> DatasetSpec:
    return DatasetSpec(
        str(source),
        image_shape,
        num_classes,
        counts.get("train", 0),
        counts.get("test"),
        tfds_name=tfds_name,
        splits=tuple(counts),
    )


# ------------------------------------------------------------------------------ tfds:NAME
def _tfds_builder(source: SourceName, data_dir, download, prepared_only=False):
    import tensorflow_datasets as tfds

    from tf_infomax.data import sources

    try:
        builder = tfds.builder(source.target, data_dir=data_dir)
    except Exception as error:  # noqa: BLE001 - TFDS raises several types for unknown names
        raise ValueError(
            f"{source}: TFDS has no dataset {source.target!r} ({type(error).__name__}: "
            f"{str(error).splitlines()[0][:200]}). See `tfds.list_builders()` or "
            "https://www.tensorflow.org/datasets/catalog."
        ) from None
    if prepared_only or builder.is_prepared():
        return builder
    spec = DatasetSpec(str(source), (0, 0, 0), None, 0, None, tfds_name=source.target)
    try:
        return sources.tfds_builder(spec, data_dir=data_dir, download=download)
    except DatasetNotFoundError as error:  # our `prepare` knows registered names only
        root = os.fspath(builder.data_dir_root)
        fix = (
            f"python -c \"import tensorflow_datasets as tfds; tfds.builder('{source.target}', "
            f"data_dir='{root}').download_and_prepare()\""
        )
        message = str(error).replace(sources.prepare_command(spec.name, root), fix)
        raise DatasetNotFoundError(str(source), message) from error


def _tfds_fingerprint(builder) -> str:
    splits = {name: split.num_examples for name, split in builder.info.splits.items()}
    return f"tfds:{builder.info.full_name}:{sorted(splits.items())}"


def _open_tfds(source: SourceName, options: SourceOptions, download) -> UserSource:
    import tensorflow_datasets as tfds

    builder = _tfds_builder(source, options.data_dir, download)
    features = builder.info.features
    if "image" not in features:
        raise ValueError(
            f"{source}: the dataset has no 'image' feature (features: {', '.join(features)}); "
            "use a TFDS image dataset."
        )
    stored = tuple(features["image"].shape)
    height, width, channels = (None, None, None) if len(stored) != 3 else stored
    if options.image_size is None and (height is None or width is None):
        raise ValueError(
            f"{source}: its images vary in size ({stored}); pass --image-size H W to resize them."
        )
    size = options.image_size or (height, width)
    target_channels = options.channels or (3 if channels in (3, 4) else 1)
    image_shape = (*size, target_channels)
    label = features["label"] if "label" in features else None  # noqa: SIM401 (no .get)
    num_classes = getattr(label, "num_classes", None)

    def select(example: dict):
        image = example["image"]
        if channels in (2, 4):  # grey+alpha, RGBA: drop alpha
            image = image[..., : channels - 1]
        image = tf.ensure_shape(image_ops.fit(image, size, target_channels), image_shape)
        y = tf.cast(example["label"], tf.int64) if num_classes else tf.constant(-1, tf.int64)
        return image, y

    def examples(split: str) -> tf.data.Dataset:
        ds = builder.as_dataset(
            split=split, shuffle_files=False, read_config=tfds.ReadConfig(try_autocache=False)
        )
        return ds.map(select, num_parallel_calls=tf.data.AUTOTUNE)

    counts = {name: split.num_examples for name, split in builder.info.splits.items()}
    if not counts:  # not recorded (a mocked dataset): count the examples
        counts = {s: int(examples(s).cardinality()) for s in ("train", "test")}
        counts = {s: n for s, n in counts.items() if n >= 0}
    spec = _spec(source, image_shape, num_classes, counts, tfds_name=source.target)
    record = {
        "dataset": str(source),
        "kind": "tfds",
        "path": str(builder.data_dir),
        "num_images": counts,
        "image_shape": list(image_shape),
        "stored_as": f"TFDS {builder.info.full_name}, images {list(stored)}",
        "num_classes": num_classes,
        "class_names": list(label.names) if num_classes and hasattr(label, "names") else None,
        "fingerprint": _tfds_fingerprint(builder),
    }
    return UserSource(spec, examples, record)


def check_record(record: dict, options: SourceOptions | None = None) -> str | None:
    """A warning if the source of a run's ``data.json`` changed since training, else None."""
    source = parse_source(record["dataset"])
    try:
        now = fingerprint(source, (options or SourceOptions()).data_dir)
    except (OSError, ValueError) as error:
        return f"the training data {record['dataset']} cannot be read now: {error}"
    if now != record.get("fingerprint"):
        return (
            f"the files of {record['dataset']} changed since training (fingerprint "
            f"{record.get('fingerprint')} then, {now} now): results use the files as they are."
        )
    return None


def warn_if_changed(record: dict | None, options: SourceOptions | None = None) -> str | None:
    """Emit ``check_record``'s warning (a UserWarning) and return it."""
    if not record:
        return None
    message = check_record(record, options)
    if message:
        warnings.warn(message, stacklevel=2)
    return message


__all__ = ["SourceOptions", "UserSource", "check_record", "open_source", "warn_if_changed"]
