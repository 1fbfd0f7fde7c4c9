"""``dir:PATH``: a folder of PNG/JPEG/BMP/GIF images, decoded once with ``tf.io.decode_image``.

Layout (as ``keras.utils.image_dataset_from_directory`` and ``tfds.folder_dataset.ImageFolder``
read it): images directly in PATH (no labels), or in class subfolders ``PATH/<class>/...``
(labels: the sorted class names' indices); with ``PATH/train/`` (and ``test/``,
``validation/``), each is a split laid out the same way.
"""

from __future__ import annotations

import collections
import dataclasses
import hashlib
import os
import warnings
from collections.abc import Sequence

import numpy as np
import tensorflow as tf

from tf_infomax.data import disk_cache
from tf_infomax.data import images as image_ops

EXTENSIONS = (".png", ".jpg", ".jpeg", ".bmp", ".gif")
SPLIT_FOLDERS = ("train", "validation", "test")
SHOWN = 3  # example file names in a message


@dataclasses.dataclass
class Folder:
    """The image files of a folder source, found without decoding anything.

    Attributes:
        root: the folder.
        files: split -> list of (absolute path, class index or -1).
        class_names: sorted class subfolder names, or None without class subfolders.
        ignored: files that are not PNG/JPEG/BMP/GIF (by name), relative to ``root``.
    """

    root: str
    files: dict[str, list[tuple[str, int]]]
    class_names: list[str] | None
    ignored: list[str]

    @property
    def num_files(self) -> int:
        return sum(len(f) for f in self.files.values())

    def relative(self, path: str) -> str:
        return os.path.relpath(path, self.root)

    def fingerprint(self) -> str:
        """sha256 of the sorted (relative name, size, mtime) of every image file."""
        digest = hashlib.sha256()
        for path in sorted(p for files in self.files.values() for p, _ in files):
            stat = os.stat(path)
            digest.update(f"{self.relative(path)}\0{stat.st_size}\0{stat.st_mtime_ns}\n".encode())
        return "sha256:" + digest.hexdigest()


def _is_image(name: str) -> bool:
    return name.lower().endswith(EXTENSIONS)


def _walk(folder: str) -> tuple[list[str], list[str]]:
    """(image files, other files) under ``folder``, recursively, sorted."""
    found, other = [], []
    for parent, dirs, names in os.walk(folder):
        dirs.sort()
        for name in sorted(names):
            (found if _is_image(name) else other).append(os.path.join(parent, name))
    return found, other


def scan(root: str) -> Folder:
    """List the images of ``root`` (splits, classes) without decoding them.

    Raises:
        FileNotFoundError: ``root`` is not a folder.
        ValueError: no image in it, or images both beside and inside class subfolders.
    """
    if not os.path.isdir(root):
        raise FileNotFoundError(
            f"dir:{root}: no such folder. Give the folder of your images (dir:PATH)."
        )
    subdirs = sorted(e.name for e in os.scandir(root) if e.is_dir() and not e.name.startswith("."))
    split_dirs = [s for s in SPLIT_FOLDERS if s in subdirs]
    if "train" in split_dirs:
        split_roots = {s: os.path.join(root, s) for s in split_dirs}
    else:
        split_roots = {"train": root}
    per_split, ignored, classes = {}, [], set()
    for split, folder in split_roots.items():
        names = sorted(
            e.name for e in os.scandir(folder) if e.is_dir() and not e.name.startswith(".")
        )
        loose = sorted(os.path.join(folder, e.name) for e in os.scandir(folder) if e.is_file())
        by_class = {}
        for name in names:
            found, other = _walk(os.path.join(folder, name))
            ignored += other
            if found:
                by_class[name] = found
        loose_images = [p for p in loose if _is_image(os.path.basename(p))]
        ignored += [p for p in loose if not _is_image(os.path.basename(p))]
        if by_class and loose_images:
            raise ValueError(
                f"dir:{root}: {folder} holds images both in class subfolders "
                f"({', '.join(list(by_class)[:SHOWN])}) and beside them "
                f"({', '.join(os.path.basename(p) for p in loose_images[:SHOWN])}); move the "
                "loose ones into a class subfolder, or remove them."
            )
        per_split[split] = (by_class, loose_images)
        classes |= set(by_class)
    class_names = sorted(classes) or None
    if class_names and any(loose for _, loose in per_split.values()):
        split = next(s for s, (_, loose) in per_split.items() if loose)
        raise ValueError(
            f"dir:{root}: the {split} split has no class subfolders but the others do; give "
            "every split the same class subfolders."
        )
    index = {name: i for i, name in enumerate(class_names or [])}
    files = {}
    for split, (by_class, loose) in per_split.items():
        labelled = [(p, index[c]) for c, paths in by_class.items() for p in paths]
        files[split] = labelled or [(p, -1) for p in loose]
    folder = Folder(root, files, class_names, [os.path.relpath(p, root) for p in ignored])
    if folder.num_files == 0:
        shown = ", ".join(folder.ignored[:SHOWN])
        other = f" (only {len(folder.ignored)} other files: {shown})" if folder.ignored else ""
        raise ValueError(
            f"dir:{root}: the folder holds no PNG, JPEG, BMP or GIF images{other}. Put the "
            "images there, in one subfolder per class if they have labels."
        )
    return folder


def _read_image(path) -> tf.Tensor:
    """One file decoded to ``uint8`` HWC without its alpha channel (GIF: first frame)."""
    image = tf.io.decode_image(tf.io.read_file(path), channels=0, expand_animations=False)
    return image_ops.drop_alpha(image)


def _decoded(paths: Sequence[str], size: Sequence[int] | None, batch: int = 256):
    """Yield (index, uint8 HWC image with 1 or 3 channels) of every decodable file, in order.

    Decoding runs in parallel; a file that fails is dropped (``ignore_errors``) and so shows
    as a missing index. Images travel in zero-padded batches with their shapes, then are cut
    back to size: far faster than one Python step per file.
    """

    def decode(index, path):
        image = _read_image(path)
        if size is not None:
            image = image_ops.resize(image, size)
        return index, image, tf.shape(image)

    ds = tf.data.Dataset.from_tensor_slices((np.arange(len(paths)), list(paths)))
    ds = ds.map(decode, num_parallel_calls=tf.data.AUTOTUNE, deterministic=True).ignore_errors()
    ds = ds.padded_batch(batch, padded_shapes=([], [None, None, None], [3]))
    for indices, images, shapes in ds.prefetch(2).as_numpy_iterator():
        for index, image, (h, w, c) in zip(indices, images, shapes, strict=True):
            yield int(index), image[:h, :w, :c]


def decode(
    folder: Folder,
    *,
    image_size: Sequence[int] | None = None,
    channels: int | None = None,
    skip_unreadable: bool = False,
) -> tuple[dict[str, tuple[np.ndarray, np.ndarray]], dict]:
    """Decode every image once: split -> (uint8 (N, H, W, C), int64 labels), and notes.

    Raises:
        ValueError: a file that does not decode (unless ``skip_unreadable``), images of several
            sizes without ``image_size``, or no readable image left.
    """
    root = folder.root
    entries = [(split, path, label) for split, fs in folder.files.items() for path, label in fs]
    decoded = dict(_decoded([path for _, path, _ in entries], image_size))
    unreadable = [folder.relative(entries[i][1]) for i in range(len(entries)) if i not in decoded]
    notes = _unreadable_notes(root, unreadable, len(entries), skip_unreadable)
    if not decoded:
        raise ValueError(f"dir:{root}: none of the {len(entries)} image files can be decoded.")
    sizes = collections.Counter(image.shape[:2] for image in decoded.values())
    if len(sizes) > 1:
        example = {}
        for i, image in decoded.items():
            example.setdefault(image.shape[:2], folder.relative(entries[i][1]))
        listed = "; ".join(
            f"{h}x{w} ({n} images, e.g. {example[(h, w)]})" for (h, w), n in sizes.most_common()
        )
        (h, w), _ = sizes.most_common(1)[0]
        raise ValueError(
            f"dir:{root}: the images have {len(sizes)} different sizes: {listed}. Pass "
            f"--image-size H W to resize them all (e.g. --image-size {h} {w})."
        )
    have = collections.Counter(image.shape[2] for image in decoded.values())
    target = channels or max(have)
    if len(have) > 1 and channels is None:
        warnings.warn(
            f"dir:{root}: {have[1]} grey and {have[3]} RGB images; the grey ones were "
            "converted to RGB (pass --channels 1 to convert the RGB ones to grey instead).",
            stacklevel=3,
        )
    if set(have) != {target}:
        notes["converted_to_channels"] = {"channels": target, "from": dict(sorted(have.items()))}
    splits = {}
    for split in folder.files:
        rows = [i for i, (s, _, _) in enumerate(entries) if s == split and i in decoded]
        if not rows:
            continue
        images = _stack_as([decoded[i] for i in rows], target)
        labels = np.array([entries[i][2] for i in rows], np.int64)
        splits[split] = (images, labels)
    return splits, notes


def _unreadable_notes(root: str, unreadable: list[str], total: int, skip: bool) -> dict:
    """The record of files that did not decode; an error unless ``skip`` (--skip-unreadable)."""
    if not unreadable:
        return {}
    shown = ", ".join(unreadable[:SHOWN]) + (", ..." if len(unreadable) > SHOWN else "")
    if not skip:
        raise ValueError(
            f"dir:{root}: {len(unreadable)} of {total} files cannot be decoded as "
            f"images (corrupt or not really PNG/JPEG/BMP/GIF): {shown}. Remove or replace "
            "them, or pass --skip-unreadable to train without them."
        )
    message = f"dir:{root}: skipped {len(unreadable)} unreadable files ({shown})."
    warnings.warn(message, stacklevel=4)
    return {"skipped_unreadable": {"count": len(unreadable), "files": unreadable}}


def decoded_bytes(folder: Folder, image_size=None, channels: int | None = None) -> int:
    """The size of the folder's images decoded to ``uint8``, from the first image's shape."""
    path = next(p for files in folder.files.values() for p, _ in files)
    if image_size is None or channels is None:
        try:
            height, width, have = _read_image(path).shape
        except (tf.errors.InvalidArgumentError, ValueError):
            height, width, have = 256, 256, 3  # an unreadable first file: a generous guess
        image_size = image_size or (height, width)
        channels = channels or max(have, 1)
    return folder.num_files * int(image_size[0]) * int(image_size[1]) * int(channels)


def decode_to_disk(
    folder: Folder,
    directory: os.PathLike,
    *,
    image_size: Sequence[int] | None = None,
    channels: int | None = None,
    skip_unreadable: bool = False,
) -> tuple[dict[str, tuple[np.ndarray, np.ndarray]], dict]:
    """``decode`` for folders larger than memory: each split into memory-mapped ``uint8`` files.

    The arrays go to ``directory`` (``tf_infomax.data.disk_cache``), atomically, and are read
    back from there without decoding when it is complete. Images are written as they decode,
    so the checks of ``decode`` run incrementally; a folder mixing grey and RGB images needs
    ``channels``.

    Raises:
        ValueError: as ``decode``, and mixed channel counts without ``channels``.
    """
    stored = disk_cache.read(directory)
    if stored is not None:
        return stored
    root = folder.root
    entries = [(split, path, label) for split, fs in folder.files.items() for path, label in fs]
    capacity = collections.Counter(split for split, _, _ in entries)
    unreadable, expected, shape = [], 0, None
    with disk_cache.Writer(directory) as writer:
        for index, image in _decoded([path for _, path, _ in entries], image_size):
            unreadable += [folder.relative(entries[i][1]) for i in range(expected, index)]
            expected = index + 1
            split, path, label = entries[index]
            if shape is None:
                shape, first = image.shape[:2], folder.relative(path)
                target = channels or image.shape[2]
            if image.shape[:2] != shape:
                raise ValueError(
                    f"dir:{root}: the images have different sizes: {shape[0]}x{shape[1]} "
                    f"({first}) and {image.shape[0]}x{image.shape[1]} ({folder.relative(path)}). "
                    f"Pass --image-size H W to resize them all (e.g. --image-size {shape[0]} "
                    f"{shape[1]})."
                )
            if image.shape[2] != target:
                if channels is None:
                    raise ValueError(
                        f"dir:{root}: grey and RGB images are mixed ({first} has {target} "
                        f"channels, {folder.relative(path)} {image.shape[2]}); pass --channels 3 "
                        "(or 1) to convert them all."
                    )
                image = image_ops.to_channels(tf.constant(image[None]), target).numpy()[0]
            writer.add(split, capacity[split], image, label)
        unreadable += [folder.relative(entries[i][1]) for i in range(expected, len(entries))]
        notes = _unreadable_notes(root, unreadable, len(entries), skip_unreadable)
        if shape is None:
            raise ValueError(f"dir:{root}: none of the {len(entries)} image files can be decoded.")
        writer.finish(notes)
    return disk_cache.read(directory)


def _stack_as(images: list[np.ndarray], channels: int) -> np.ndarray:
    """Stack HWC uint8 images, converting those of other channel counts in one call each."""
    out = np.empty((len(images), *images[0].shape[:2], channels), np.uint8)
    other = [i for i, image in enumerate(images) if image.shape[2] != channels]
    for i, image in enumerate(images):
        if image.shape[2] == channels:
            out[i] = image
    if other:
        mismatched = tf.constant(np.stack([images[i] for i in other]))
        converted = image_ops.to_channels(mismatched, channels)
        out[other] = converted.numpy()
    return out
