"""Wall-clock time as an injectable object, so the 24-hour e-mail throttle can be tested in seconds.

Unit tests move a `ManualClock`; worker processes in end-to-end tests share a `FileClock`
(ALERTFLOW_CLOCK_FILE) that the test rewrites. Everything else uses `system_clock`.
"""
from __future__ import annotations

import math
import time
from pathlib import Path
from typing import Protocol

from .settings import Settings


class Clock(Protocol):
    def __call__(self) -> float:
        """Epoch seconds, UTC."""
        ...


class ClockError(RuntimeError):
    """The test clock file cannot be read: a misconfigured test, never to be papered over."""


def system_clock() -> float:
    return time.time()


class FileClock:
    """Reads the time from a file on every call, so a test can move many worker processes at once.

    Writers should replace the file atomically (write a temporary file, then rename it), or a
    reader may see it empty half-way through a write.
    """

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)

    def __call__(self) -> float:
        try:
            text = self.path.read_text()
        except OSError as exc:
            raise ClockError(f"clock file {self.path}: cannot read it ({exc.strerror or exc})") from exc
        try:
            now = float(text.strip())
        except ValueError:
            raise ClockError(f"clock file {self.path}: {text.strip()[:40]!r} is not epoch seconds") from None
        if not math.isfinite(now):
            raise ClockError(f"clock file {self.path}: {now} is not a finite time")
        return now

    def __repr__(self) -> str:
        return f"FileClock({str(self.path)!r})"


class ManualClock:
    """A clock that moves only when told to."""

    def __init__(self, start: float = 0.0) -> None:
        self.now = float(start)

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> float:
        self.now += seconds
        return self.now

    def __repr__(self) -> str:
        return f"ManualClock({self.now})"


def clock_from_settings(settings: Settings) -> Clock:
    """The test clock file when one is configured (`settings.clock_file`), else system time."""
    return FileClock(settings.clock_file) if settings.clock_file else system_clock
