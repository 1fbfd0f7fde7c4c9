"""Decoded images kept on disk when they do not fit in memory: memory-mapped ``uint8`` arrays.

A ``dir:`` source whose decoded size exceeds the memory budget is decoded once into a folder
of the cache directory: ``<split>.images.npy`` (N, H, W, C) and ``<split>.labels.npy`` per split
and a ``manifest.json``, written in a temporary folder and renamed into place, so a folder with
a manifest is complete. Pipelines then gather each batch from the memory-mapped files, in the
same seeded order as the in-memory cache.

Environment:
    TF_INFOMAX_MEMORY_BUDGET: bytes of decoded images kept in memory (suffix K, M or G
        allowed; ``0`` always uses the disk). Default: half of the available memory.
    TF_INFOMAX_CACHE_DIR: where the decoded arrays go (default ``~/.cache/tf_infomax``).
"""

from __future__ import annotations

import json
import os
import pathlib
import shutil

import numpy as np

BUDGET_ENV, CACHE_DIR_ENV = "TF_INFOMAX_MEMORY_BUDGET", "TF_INFOMAX_CACHE_DIR"
MANIFEST = "manifest.json"
_UNITS = {"": 1, "K": 2**10, "M": 2**20, "G": 2**30}


def memory_budget() -> int:
    """Bytes of decoded images a source may keep in memory (``$TF_INFOMAX_MEMORY_BUDGET``).

    Raises:
        ValueError: the variable is not a number of bytes.
    """
    value = os.environ.get(BUDGET_ENV, "").strip()
    if not value:
        return available_memory() // 2
    unit = value[-1].upper() if value[-1].isalpha() else ""
    number = value[:-1] if unit else value
    try:
        budget = int(float(number) * _UNITS[unit])
    except (KeyError, ValueError):
        budget = -1
    if budget < 0:
        raise ValueError(
            f"{BUDGET_ENV}={value!r} is not a number of bytes; use e.g. 0, 500M or 8G."
        )
    return budget


def available_memory() -> int:
    """Available physical memory in bytes (``MemAvailable`` of /proc/meminfo where present)."""
    try:
        with open("/proc/meminfo") as f:
            for line in f:
                if line.startswith("MemAvailable:"):
                    return int(line.split()[1]) * 1024
    except OSError:
        pass
    try:
        return os.sysconf("SC_AVPHYS_PAGES") * os.sysconf("SC_PAGE_SIZE")
    except (ValueError, OSError, AttributeError):
        return 2**34


def cache_root() -> pathlib.Path:
    """The folder that holds decoded sources (``$TF_INFOMAX_CACHE_DIR``)."""
    root = os.environ.get(CACHE_DIR_ENV) or os.path.join("~", ".cache", "tf_infomax")
    return pathlib.Path(root).expanduser()


class Writer:
    """Writes the splits of one source into ``directory`` atomically (a temporary folder first).

    Use as a context manager: on an exception nothing is left behind; on success the folder is
    renamed into place with its manifest.
    """

    def __init__(self, directory: pathlib.Path):
        self.directory = pathlib.Path(directory)
        self.tmp = self.directory.with_name(f"{self.directory.name}.tmp-{os.getpid()}")
        self.images: dict[str, np.ndarray] = {}
        self.labels: dict[str, list[int]] = {}

    def __enter__(self) -> Writer:
        shutil.rmtree(self.tmp, ignore_errors=True)
        self.tmp.mkdir(parents=True)
        return self

    def add(self, split: str, capacity: int, image: np.ndarray, label: int) -> None:
        """Append one image to ``split``, whose file is made for ``capacity`` images."""
        if split not in self.images:
            path = self.tmp / f"{split}.images.npy"
            shape = (capacity, *image.shape)
            self.images[split] = np.lib.format.open_memmap(path, "w+", np.uint8, shape)
            self.labels[split] = []
        self.images[split][len(self.labels[split])] = image
        self.labels[split].append(label)

    def finish(self, notes: dict) -> None:
        counts = {split: len(labels) for split, labels in self.labels.items()}
        for split, labels in self.labels.items():
            self.images[split].flush()
            np.save(self.tmp / f"{split}.labels.npy", np.array(labels, np.int64))
        self.images.clear()
        with open(self.tmp / MANIFEST, "w") as f:
            json.dump({"counts": counts, "notes": notes}, f)
        try:
            os.replace(self.tmp, self.directory)
        except OSError:  # another process finished the same source first
            if not (self.directory / MANIFEST).exists():
                raise

    def __exit__(self, *exc) -> None:
        self.images.clear()
        shutil.rmtree(self.tmp, ignore_errors=True)


def read(directory: pathlib.Path) -> tuple[dict[str, tuple[np.ndarray, np.ndarray]], dict] | None:
    """split -> (memory-mapped images, labels), and the notes; None if not (fully) written."""
    directory = pathlib.Path(directory)
    try:
        with open(directory / MANIFEST) as f:
            manifest = json.load(f)
    except (OSError, ValueError):
        return None
    splits = {}
    for split, count in manifest["counts"].items():
        images = np.load(directory / f"{split}.images.npy", mmap_mode="r")[:count]
        splits[split] = (images, np.load(directory / f"{split}.labels.npy"))
    return splits, manifest["notes"]


def is_on_disk(images: np.ndarray) -> bool:
    return isinstance(images, np.memmap)
