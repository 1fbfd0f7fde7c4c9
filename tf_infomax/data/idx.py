"""Validating reader for IDX files (the MNIST file format), gzipped or not."""

from __future__ import annotations

import gzip
import math
import os
import struct
import zlib

import numpy as np

from tf_infomax.data.errors import IDXFormatError

_UBYTE = 0x08


def read_idx(path: str | os.PathLike, *, ndim: int, hint: str = "") -> np.ndarray:
    """Read an unsigned-byte IDX file into a ``uint8`` array, checking every header field.

    Args:
        path: file to read; decompressed with gzip if the name ends in ``.gz``.
        ndim: the number of dimensions the file must declare (1 for labels, 3 for images).
        hint: sentence appended to error messages (how to get a good file).

    Raises:
        IDXFormatError: the file cannot be decompressed, its magic number is not that of an
            ``ndim``-dimensional ubyte IDX file, or its size disagrees with its header.
    """
    path = os.fspath(path)

    def fail(problem: str) -> IDXFormatError:
        return IDXFormatError(f"{path} is not a valid IDX file: {problem}. {hint}".rstrip())

    try:
        if path.endswith(".gz"):
            with gzip.open(path, "rb") as f:
                raw = f.read()
        else:
            with open(path, "rb") as f:
                raw = f.read()
    except (EOFError, zlib.error, gzip.BadGzipFile) as e:
        raise fail(f"it is corrupt or truncated ({type(e).__name__}: {e})") from e

    header_len = 4 + 4 * ndim
    if len(raw) < header_len:
        raise fail(f"it holds {len(raw)} bytes, fewer than its {header_len}-byte header")
    expected_magic = (_UBYTE << 8) | ndim
    (magic,) = struct.unpack(">I", raw[:4])
    if magic != expected_magic:
        raise fail(
            f"magic number 0x{magic:08x}, expected 0x{expected_magic:08x} "
            f"({ndim}-dimensional unsigned-byte data)"
        )
    dims = struct.unpack(f">{ndim}I", raw[4:header_len])
    payload = len(raw) - header_len
    if payload != math.prod(dims):
        raise fail(
            f"its header declares shape {dims} ({math.prod(dims)} bytes) but it holds "
            f"{payload} bytes of data (truncated or padded)"
        )
    return np.frombuffer(raw, dtype=np.uint8, offset=header_len).reshape(dims)
