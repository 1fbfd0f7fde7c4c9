"""Facts about the machine and software a benchmark ran on, shared by the benchmark scripts.

Standard library only: the pythae worker imports it too, in its own virtualenv.
"""

from __future__ import annotations

import pathlib
import platform
from importlib import metadata


def cpu_model() -> str:
    """The CPU's model name from /proc/cpuinfo (or what platform knows)."""
    try:
        for line in pathlib.Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def package_version(dist: str) -> str | None:
    """The installed version of distribution ``dist``, or None if it is not installed."""
    try:
        return metadata.version(dist)
    except metadata.PackageNotFoundError:
        return None
