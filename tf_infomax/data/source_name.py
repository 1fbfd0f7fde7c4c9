"""What a dataset name means: a registered name, or ``dir:PATH``, ``npz:PATH``, ``tfds:NAME``."""

from __future__ import annotations

import dataclasses
import os

KINDS = ("dir", "npz", "tfds")
FORMS = (
    "dir:PATH (a folder of PNG/JPEG/BMP/GIF images, optionally in class subfolders)",
    "npz:PATH (a .npz with arrays x [and y], or a .npy of images)",
    "tfds:NAME[:CONFIG] (a TFDS image dataset in --data-dir)",
)


@dataclasses.dataclass(frozen=True)
class SourceName:
    """A parsed user source: ``kind`` (``dir``, ``npz`` or ``tfds``) and its ``target``.

    ``target`` is an absolute path for ``dir``/``npz`` and ``NAME[/CONFIG]`` for ``tfds``.
    """

    kind: str
    target: str

    def __str__(self) -> str:
        if self.kind == "tfds":
            return "tfds:" + self.target.replace("/", ":")
        return f"{self.kind}:{self.target}"


def valid_forms(registered) -> str:
    """The sentence listing every accepted dataset name (for error messages and help)."""
    return f"one of {', '.join(registered)}, or " + "; ".join(FORMS)


def parse_source(name: str) -> SourceName | None:
    """``SourceName`` of ``dir:``/``npz:``/``tfds:`` names, ``None`` for any other name.

    Raises:
        ValueError: a ``KIND:`` prefix that is not one of ``KINDS``, or an empty target.
    """
    kind, sep, target = name.partition(":")
    if not sep:
        return None
    kind = kind.strip().lower()
    if kind not in KINDS:
        from tf_infomax.data.registry import DATASET_NAMES

        raise ValueError(f"Unknown dataset {name!r}; choose {valid_forms(DATASET_NAMES)}.")
    target = target.strip()
    if not target:
        raise ValueError(
            f"{name!r} names no {'dataset' if kind == 'tfds' else 'path'}: "
            f"write {FORMS[KINDS.index(kind)].split(' ')[0]}."
        )
    if kind == "tfds":
        tfds_name, _, config = target.partition(":")
        return SourceName(kind, f"{tfds_name}/{config}" if config else tfds_name)
    return SourceName(kind, os.path.abspath(os.path.expanduser(target)))
