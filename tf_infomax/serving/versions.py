"""TF Serving's model layout: ``BASE/<integer version>/`` SavedModels, written atomically."""

from __future__ import annotations

import contextlib
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path


def existing_versions(base: str | Path) -> list[int]:
    """Sorted integer versions under ``base`` (directories named by digits only)."""
    base = Path(base)
    if not base.is_dir():
        return []
    return sorted(int(p.name) for p in base.iterdir() if p.is_dir() and p.name.isdigit())


def next_version(base: str | Path) -> int:
    """One more than the largest existing version, 1 for an empty or missing ``base``."""
    versions = existing_versions(base)
    return versions[-1] + 1 if versions else 1


def check_version(version: int) -> int:
    if isinstance(version, bool) or not isinstance(version, int) or version < 0:
        raise ValueError(f"Version must be a non-negative integer (TF Serving), got {version!r}.")
    return version


def check_free(base: str | Path, version: int, *, overwrite: bool = False) -> Path:
    """``base/<version>``, or FileExistsError if it exists and ``overwrite`` is false."""
    target = Path(base) / str(check_version(version))
    if target.exists() and not overwrite:
        raise FileExistsError(
            f"{target} exists; TF Serving versions are immutable. Omit --version to write "
            f"version {next_version(base)}, or pass --overwrite to replace it."
        )
    return target


@contextlib.contextmanager
def version_dir(base: str | Path, version: int, *, overwrite: bool = False) -> Iterator[Path]:
    """Yield a scratch directory that becomes ``base/<version>`` when the block succeeds.

    TF Serving polls ``base`` and loads any numeric directory it sees, so the export is written
    under a non-numeric name and renamed into place in one step; a failed export leaves nothing.
    An existing version is replaced only with ``overwrite``.
    """
    base, target = Path(base), check_free(base, version, overwrite=overwrite)
    base.mkdir(parents=True, exist_ok=True)
    for stale in base.glob(f".export-{version}-*"):  # left by an export that was killed
        shutil.rmtree(stale, ignore_errors=True)
    scratch = Path(tempfile.mkdtemp(prefix=f".export-{version}-", dir=base))
    try:
        yield scratch / "model"
        if target.exists():
            target.rename(scratch / "replaced")  # deleted below with the scratch directory
        (scratch / "model").rename(target)
    finally:
        shutil.rmtree(scratch, ignore_errors=True)
