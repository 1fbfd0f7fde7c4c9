"""``npz:PATH``: images as NumPy arrays, ``x`` (and ``y``) in a ``.npz``, or a ``.npy`` of ``x``.

``x`` has shape (N, H, W) or (N, H, W, C) with C in 1, 3 (4: RGBA, alpha dropped): ``uint8``
0-255 (any integer type with values in 0-255) or float in [0, 1]. ``y``: N integer labels
(optional). ``x_test`` (and ``y_test``), when present, are the ``test`` split.
"""

from __future__ import annotations

import hashlib
import os
import zipfile

import numpy as np

SPLIT_KEYS = {"train": ("x", "y"), "test": ("x_test", "y_test")}


def fingerprint(path: str) -> str:
    """sha256 of the file's bytes."""
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for chunk in iter(lambda: handle.read(1 << 20), b""):
            digest.update(chunk)
    return "sha256:" + digest.hexdigest()


def read(path: str) -> dict[str, tuple[np.ndarray, np.ndarray]]:
    """split -> (images (N, H, W, C) uint8 or float32 in [0, 1], int64 labels, -1 if none).

    Raises:
        FileNotFoundError: no such file.
        ValueError: not a .npz/.npy, no ``x``, a bad shape, NaN/inf, values outside
            [0, 1] (float) or 0-255 (integers), or labels that do not match.
    """
    where = f"npz:{path}"
    if not os.path.isfile(path):
        raise FileNotFoundError(f"{where}: no such file. Give a .npz with arrays x [and y].")
    try:
        loaded = np.load(path, allow_pickle=False)
    except (ValueError, OSError, zipfile.BadZipFile) as error:
        raise ValueError(
            f"{where}: not a readable .npz or .npy file ({error}). Write it with "
            "numpy.savez(PATH, x=images, y=labels)."
        ) from None
    if isinstance(loaded, np.ndarray):
        arrays = {"x": loaded}
    else:
        with loaded:
            arrays = {key: loaded[key] for key in loaded.files}
    if "x" not in arrays:
        raise ValueError(
            f"{where}: no array named 'x' (it holds {', '.join(sorted(arrays)) or 'nothing'}). "
            "Save the images as x: numpy.savez(PATH, x=images, y=labels)."
        )
    splits = {}
    for split, (x_key, y_key) in SPLIT_KEYS.items():
        if x_key in arrays:
            images = _images(arrays[x_key], f"{where} {x_key}")
            labels = _labels(arrays.get(y_key), len(images), f"{where} {y_key}")
            splits[split] = (images, labels)
    return splits


def _images(x: np.ndarray, where: str) -> np.ndarray:
    if x.ndim == 3:
        x = x[..., None]
    if x.ndim != 4 or x.shape[-1] not in (1, 2, 3, 4) or x.shape[0] == 0:
        raise ValueError(
            f"{where} has shape {x.shape}; expected (N, H, W) or (N, H, W, C) images with C = "
            "1 (grey) or 3 (RGB), N > 0."
        )
    if x.shape[-1] in (2, 4):  # grey+alpha, RGBA: drop alpha
        x = x[..., : x.shape[-1] - 1]
    if np.issubdtype(x.dtype, np.floating):
        if not np.isfinite(x).all():
            bad = int(np.argwhere(~np.isfinite(x).reshape(len(x), -1).all(axis=1))[0, 0])
            raise ValueError(
                f"{where} contains NaN or inf (first in image {bad}); clean the images."
            )
        low, high = float(x.min()), float(x.max())
        if low < 0 or high > 1:
            hint = (
                " They look like 0-255 values: save x / 255 or x.astype(numpy.uint8)."
                if low >= 0 and high <= 255
                else ""
            )
            raise ValueError(
                f"{where} values range over [{low:g}, {high:g}]; float images must be in "
                f"[0, 1].{hint}"
            )
        return x.astype(np.float32)
    if np.issubdtype(x.dtype, np.integer) or x.dtype == bool:
        low, high = int(x.min()), int(x.max())
        if low < 0 or high > 255:
            raise ValueError(
                f"{where} values range over [{low}, {high}]; integer images must be 0-255 "
                "(uint8), or float in [0, 1]."
            )
        return x.astype(np.uint8)
    raise ValueError(f"{where} has dtype {x.dtype}; save uint8 (0-255) or float (0-1) images.")


def _labels(y: np.ndarray | None, n: int, where: str) -> np.ndarray:
    if y is None:
        return np.full(n, -1, np.int64)
    y = np.asarray(y).reshape(-1) if np.asarray(y).ndim == 2 and y.shape[1] == 1 else y
    if y.shape != (n,) or not np.issubdtype(y.dtype, np.integer) or (y < 0).any():
        raise ValueError(
            f"{where} must be {n} non-negative integer labels (one per image); got shape "
            f"{y.shape}, dtype {y.dtype}."
        )
    return y.astype(np.int64)
