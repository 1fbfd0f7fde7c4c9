"""Facts about the machine and software a benchmark ran on, shared by the benchmark scripts.

Standard library only: the pythae worker imports it too, in its own virtualenv.
"""

from __future__ import annotations

import os
import pathlib
import platform
import subprocess
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


def cpu_flags() -> list[str]:
    """Which of the vector-instruction flags that matter for GEMMs the CPU has."""
    try:
        for line in pathlib.Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("flags"):
                flags = set(line.split(":", 1)[1].split())
                wanted = ("avx", "avx2", "fma", "avx512f", "avx512_bf16", "amx_tile")
                return [f for f in wanted if f in flags]
    except OSError:
        pass
    return []


def load_average() -> list[float]:
    """The 1, 5 and 15 minute load averages, rounded to 0.01."""
    return [round(x, 2) for x in os.getloadavg()]


def busy_processes(limit: int = 6) -> list[str]:
    """The busiest other processes now (ps), to record what shared the machine."""
    try:
        out = subprocess.run(
            ["ps", "-eo", "pid,pcpu,ni,args", "--sort=-pcpu"],
            capture_output=True,
            text=True,
            timeout=10,
            check=True,
        ).stdout.splitlines()[1:]
    except (OSError, subprocess.SubprocessError):
        return []
    rows = []
    for line in out:
        pid, pcpu, nice, *command = line.split()
        if int(pid) != os.getpid() and float(pcpu) > 0:
            rows.append(f"{pcpu}% nice {nice}: {' '.join(command)[:140]}")
    return rows[:limit]
