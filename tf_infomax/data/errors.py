"""Exceptions raised by :mod:`tf_infomax.data`, and the text of the "not found" message."""

from __future__ import annotations

from collections.abc import Sequence


class DatasetNotFoundError(FileNotFoundError):
    """A dataset is neither prepared locally nor obtainable (offline, or the download failed).

    The message names the dataset, every place that was searched, and the command that fixes it.
    """

    def __init__(self, name: str, message: str) -> None:
        super().__init__(message)
        self.name = name

    def __str__(self) -> str:
        return self.args[0]


class IDXFormatError(ValueError):
    """A local IDX file (MNIST-style ``*-idx?-ubyte.gz``) is corrupt, truncated or mismatched."""


def not_found_message(
    name: str,
    *,
    looked_in: Sequence[str],
    download: str,
    fixes: Sequence[str],
    note: str = "",
) -> str:
    """Compose the text of a :class:`DatasetNotFoundError`.

    Args:
        name: dataset name.
        looked_in: one line per place searched, saying what was found missing there.
        download: what happened about downloading.
        fixes: shell commands, the first being the recommended one.
        note: optional closing sentence.
    """
    lines = [f"Dataset {name!r} is not available: not prepared locally and cannot be obtained."]
    lines.append("Looked in:")
    lines += [f"  - {place}" for place in looked_in]
    lines.append(f"Download: {download}")
    lines.append("Fix it by running:")
    lines.append(f"  {fixes[0]}")
    for alternative in fixes[1:]:
        lines.append(f"or: {alternative}")
    if note:
        lines.append(note)
    return "\n".join(lines)
