"""Latent traversals (paper, Appendix F, Figure 9): fix 90% of a code, sweep the rest."""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence

import numpy as np

TRAVERSAL_VALUES = tuple(np.linspace(-4.0, 4.0, 9).tolist())
TRAVERSAL_FRACTION = 0.1


def traversal_dims(latent_dim: int, fraction: float = TRAVERSAL_FRACTION) -> list[int]:
    """``ceil(fraction * latent_dim)`` dimensions spread evenly over the code (10 of 100)."""
    if not 0.0 < fraction <= 1.0:
        raise ValueError(f"fraction must be in (0, 1], got {fraction}.")
    count = max(1, math.ceil(fraction * latent_dim - 1e-9))
    return np.linspace(0, latent_dim - 1, count).round().astype(int).tolist()


def traversal_codes(
    code: np.ndarray,
    dims: Sequence[int],
    values: Sequence[float] = TRAVERSAL_VALUES,
    *,
    joint: bool = False,
) -> np.ndarray:
    """Codes of shape (rows, len(values), D), equal to ``code`` except in the swept ``dims``.

    One row per swept dimension (the others keep their value), or with ``joint`` a single row in
    which all swept dimensions take each value together.
    """
    code = np.asarray(code, np.float32).reshape(-1)
    rows = [list(dims)] if joint else [[d] for d in dims]
    grid = np.repeat(code[None, None, :], len(rows) * len(values), axis=0)
    grid = grid.reshape(len(rows), len(values), code.size)
    for r, swept in enumerate(rows):
        for c, value in enumerate(values):
            grid[r, c, swept] = value
    return grid


def tile_images(images: np.ndarray, pad: int = 1) -> np.ndarray:
    """(rows, cols, H, W, C) images -> one (rows * (H + pad) - pad, ...) grid image, pads = 1."""
    rows, cols, height, width, channels = images.shape
    grid = np.ones(
        (rows * (height + pad) - pad, cols * (width + pad) - pad, channels), images.dtype
    )
    for r in range(rows):
        for c in range(cols):
            top, left = r * (height + pad), c * (width + pad)
            grid[top : top + height, left : left + width] = images[r, c]
    return grid


def latent_traversal(
    decode_mean: Callable[[np.ndarray], np.ndarray],
    code: np.ndarray,
    *,
    dims: Sequence[int] | None = None,
    fraction: float = TRAVERSAL_FRACTION,
    values: Sequence[float] = TRAVERSAL_VALUES,
    joint: bool = False,
    pad: int = 1,
) -> np.ndarray:
    """Figure 9 as an image array: decoded traversals of ``code``, one row per swept dimension.

    Args:
        decode_mean: maps codes (N, D) to images (N, H, W, C) in [0, 1], e.g.
            ``lambda z: model.decode(z).mean()``.
        code: the base code (D,), e.g. a posterior mean.
        dims: dimensions to sweep; default ``traversal_dims(D, fraction)``.
        fraction: share of the code swept when ``dims`` is not given (10%).
        values: values each swept dimension takes (-4 to 4).
        joint: sweep all ``dims`` together in one row instead of one row each.
        pad: white pixels between images.

    Returns:
        A (rows * (H + pad) - pad, len(values) * (W + pad) - pad, C) float array.
    """
    code = np.asarray(code, np.float32).reshape(-1)
    dims = traversal_dims(code.size, fraction) if dims is None else list(dims)
    codes = traversal_codes(code, dims, values, joint=joint)
    rows, cols, latent = codes.shape
    images = np.asarray(decode_mean(codes.reshape(rows * cols, latent)), np.float32)
    return tile_images(images.reshape(rows, cols, *images.shape[1:]), pad=pad)
