"""Progress of long work: a tqdm bar on a terminal, plain periodic lines otherwise.

A :class:`Reporter` belongs to one command (``tf-infomax evaluate``, ``reproduce``); each stage
of it opens a :class:`Progress` with the amount of work it will do (examples, steps, runs) and
reports what it has done. On a terminal (``mode="auto"`` and stdout a TTY, or ``"bar"``) that
is a tqdm bar with the count, rate and ETA. Otherwise (``"lines"``: logs, CI, ``nohup``) it is
a plain line every ``interval`` seconds and one when the stage ends, e.g.::

    [7/10] log_likelihood: 800/2000 examples (40%), 12.3 examples/s, 65 s, ETA 98 s
    [7/10] log_likelihood: 2000 examples, 12.1 examples/s, done in 2.8 min
    [8/10] probe_accuracy: 10000 examples, 310 examples/s, done in 32 s
    [9/10] figures: done in 4 s

``"none"`` prints nothing.
"""

from __future__ import annotations

import sys
import time
from typing import TextIO

MODES = ("auto", "bar", "lines", "none")
DEFAULT_INTERVAL = 30.0  # seconds between plain lines


def _seconds(value: float) -> str:
    return f"{value:.0f} s" if value < 100 else f"{value / 60:.1f} min"


class Progress:
    """Progress of one stage (use as a context manager, or call :meth:`close`).

    Args:
        desc: what the stage is, shown first.
        total: units of work the stage will do (None: unknown, no percentage or ETA).
        unit: singular name of a unit (``"example"``, ``"step"``, ``"run"``).
        mode: ``"bar"``, ``"lines"`` or ``"none"`` (resolved by :class:`Reporter`).
        interval: seconds between plain lines.
        stream: where to write (default ``sys.stdout`` at creation).
    """

    def __init__(
        self,
        desc: str,
        total: float | None = None,
        unit: str = "example",
        *,
        mode: str = "lines",
        interval: float = DEFAULT_INTERVAL,
        stream: TextIO | None = None,
    ):
        self.desc, self.total, self.unit = desc, total, unit
        self.mode, self.interval = mode, float(interval)
        self.stream = stream or sys.stdout
        self.done = 0.0
        self.started = self._last_line = time.perf_counter()
        self._bar = None
        if mode == "bar":
            from tqdm import tqdm

            self._bar = tqdm(
                total=total,
                desc=desc,
                unit=unit,
                file=self.stream,
                dynamic_ncols=True,
                bar_format="{l_bar}{bar}| {n:.0f}/{total_fmt} [{elapsed}<{remaining}, {rate_fmt}]",
            )

    @property
    def elapsed(self) -> float:
        return time.perf_counter() - self.started

    def update(self, amount: float = 1) -> None:
        """``amount`` more units are done (fractions allowed)."""
        self.done += amount
        if self._bar is not None:
            self._bar.update(amount)
        elif self.mode == "lines" and time.perf_counter() - self._last_line >= self.interval:
            self._write(final=False)

    def line(self, final: bool = False) -> str:
        """The plain line of the progress so far."""
        elapsed = self.elapsed
        units = f"{self.unit}s"
        count = f"{self.done:.0f}" + ("" if self.total is None else f"/{self.total:.0f}")
        rate = self.done / elapsed if elapsed > 0 else 0.0
        if final:  # the work done (a total may have been an estimate)
            done = f"{self.desc}: {self.done:.0f} {units}, {rate:.3g} {units}/s"
            return done + f", done in {_seconds(elapsed)}"
        text = f"{self.desc}: {count} {units}"
        if self.total:
            text += f" ({100 * self.done / self.total:.0f}%)"
        text += f", {rate:.3g} {units}/s, {_seconds(elapsed)}"
        if self.total and rate > 0:
            text += f", ETA {_seconds(max(0.0, self.total - self.done) / rate)}"
        return text

    def _write(self, final: bool) -> None:
        self._last_line = time.perf_counter()
        print(self.line(final), file=self.stream, flush=True)

    def close(self) -> None:
        if self._bar is not None:
            self._bar.close()
            self._bar = None
        elif self.mode == "lines":
            self._write(final=True)
        self.mode = "none"  # closed: later updates print nothing

    def __enter__(self) -> Progress:
        return self

    def __exit__(self, *exc) -> None:
        self.close()


class Reporter:
    """Opens the :class:`Progress` of each stage of one command, all with the same display.

    Args:
        mode: one of ``MODES``; ``"auto"`` is ``"bar"`` when ``stream`` is a terminal, else
            ``"lines"``.
        interval: seconds between plain lines.
        stream: where to write (default ``sys.stdout`` at creation).
    """

    def __init__(
        self, mode: str = "auto", interval: float = DEFAULT_INTERVAL, stream: TextIO | None = None
    ):
        if mode not in MODES:
            raise ValueError(f"progress must be one of {MODES}, got {mode!r}.")
        if not interval >= 0:
            raise ValueError(f"progress_interval must be >= 0 seconds, got {interval}.")
        self.stream = stream or sys.stdout
        if mode == "auto":
            mode = "bar" if getattr(self.stream, "isatty", lambda: False)() else "lines"
        self.mode, self.interval = mode, interval

    def progress(self, desc: str, total: float | None = None, unit: str = "example") -> Progress:
        return Progress(
            desc, total, unit, mode=self.mode, interval=self.interval, stream=self.stream
        )

    def line(self, text: str) -> None:
        """A plain line (above any bar), unless the mode is ``"none"``."""
        if self.mode != "none":
            print(text, file=self.stream, flush=True)

    def stage(self, desc: str) -> Stage:
        """A timed stage; it prints ``desc: done in ...`` if it opened no progress of its own."""
        return Stage(self, desc)


class Stage:
    """One timed stage of a command (a context manager); ``seconds`` holds its wall time."""

    def __init__(self, reporter: Reporter, desc: str):
        self.reporter, self.desc = reporter, desc
        self.opened, self.seconds = False, None
        self.started = time.perf_counter()

    def progress(
        self, total: float | None = None, unit: str = "example", what: str | None = None
    ) -> Progress:
        """The progress of (a part ``what`` of) this stage's work; close it, or use ``with``."""
        self.opened = True
        return self.reporter.progress(f"{self.desc} ({what})" if what else self.desc, total, unit)

    def __enter__(self) -> Stage:
        self.started = time.perf_counter()
        return self

    def __exit__(self, error_type, *_) -> None:
        self.seconds = round(time.perf_counter() - self.started, 3)
        if error_type is None and not self.opened:
            self.reporter.line(f"{self.desc}: done in {_seconds(self.seconds)}")


QUIET = Reporter("none")
