"""Interleaved repeats and per-step statistics (standard library only)."""

from __future__ import annotations

import statistics
import time
from collections.abc import Callable
from typing import TypeVar

T = TypeVar("T")


def interleave(
    measures: dict[str, Callable[[], T]],
    repeats: int,
    after_repeat: Callable[[int, dict[str, list[T]]], None] | None = None,
) -> dict[str, list[T]]:
    """Every repeat calls every measure once, in an order rotated from repeat to repeat, so
    that a change of the (shared) machine's load hits all of them; their results, per key.
    ``after_repeat(repeat, results)`` is called after each repeat (for progress lines)."""
    keys = list(measures)
    results: dict[str, list[T]] = {k: [] for k in keys}
    for repeat in range(repeats):
        shift = repeat % len(keys)
        for key in keys[shift:] + keys[:shift]:
            results[key].append(measures[key]())
        if after_repeat is not None:
            after_repeat(repeat, results)
    return results


def step_ms(per_step: list[float]) -> dict:
    """Median, best and all step times in ms, of per-step seconds (one per repeat)."""
    return {
        "step_ms_median": round(statistics.median(per_step) * 1e3, 2),
        "step_ms_best": round(min(per_step) * 1e3, 2),
        "step_ms_all": [round(s * 1e3, 2) for s in per_step],
    }


def summarize(timings: list[tuple[float, float]], steps: int, batch: int) -> dict:
    """Per-step statistics of (wall, CPU) seconds of ``steps`` steps, one pair per repeat."""
    per_step = [wall / steps for wall, _ in timings]
    cpu_per_step = [cpu / steps for _, cpu in timings]
    median, best, ms = statistics.median(per_step), min(per_step), step_ms(per_step)
    return {
        "cpu_ms_per_step_median": round(statistics.median(cpu_per_step) * 1e3, 2),
        "examples_per_s_median": round(batch / median, 1),
        "step_ms_median": ms["step_ms_median"],
        "examples_per_s_best": round(batch / best, 1),
        "step_ms_best": ms["step_ms_best"],
        "step_ms_all": ms["step_ms_all"],
    }


def log(started: float, message: str) -> None:
    """A progress line, stamped with the seconds since ``started`` (a perf_counter time)."""
    print(f"[{time.perf_counter() - started:.0f} s] {message}", flush=True)
