"""Where a worker's CPU goes, stage by stage, so `bench pipeline` and `/stats` can show it.

The clock is the thread's CPU time (`time.thread_time`), not wall time: waiting for the broker or
another process taking the core is not counted. Around an `await` the count also holds whatever
other task ran on the loop meanwhile, so only awaits that rarely suspend (a producer send) are
timed; what no stage covers (Faust's fetching and event objects, the loop) is the process's CPU
minus the sum of the stages.
"""
from __future__ import annotations

import gc
import time
from collections.abc import Callable, Iterable, Iterator
from typing import TypeVar

T = TypeVar("T")

# the worker's stages in the order an alert meets them; `produce`: a record's quota check and handing it to the producer;
# `bookkeeping`: offsets, acks, stats, latency
STAGES = ("decode", "features", "context", "filters", "payloads", "produce", "bookkeeping")


class _Span:
    """One timed stretch; a fresh one per use, so two tasks may be inside the same stage at once."""

    __slots__ = ("clock", "name", "started")

    def __init__(self, clock: StageClock, name: str) -> None:
        self.clock, self.name = clock, name

    def __enter__(self) -> None:
        self.started = self.clock.now()

    def __exit__(self, *_: object) -> None:
        self.clock.add(self.name, self.clock.now() - self.started)


class StageClock:
    """CPU seconds spent in each stage so far."""

    def __init__(self, now: Callable[[], float] = time.thread_time) -> None:
        self.now = now
        self.seconds: dict[str, float] = dict.fromkeys(STAGES, 0.0)
        self.gc_seconds = 0.0  # the garbage collector's runs: already inside the stages' time, shown apart
        self._gc_started = 0.0

    def count_gc(self) -> None:
        """Also count the garbage collector's CPU time (a worker's, once: the callback stays registered)."""
        gc.callbacks.append(self._gc_phase)

    def _gc_phase(self, phase: str, info: dict[str, int]) -> None:
        if phase == "start":
            self._gc_started = self.now()
        else:
            self.gc_seconds += self.now() - self._gc_started

    def add(self, name: str, seconds: float) -> None:
        self.seconds[name] = self.seconds.get(name, 0.0) + seconds

    def timed(self, name: str) -> _Span:
        """`with clock.timed("decode"): ...` counts the block's CPU time to that stage."""
        return _Span(self, name)

    def timed_each(self, name: str, items: Iterable[T]) -> Iterator[T]:
        """The items of a lazy iterable, the work of producing each one counted to `name` (not the caller's
        work between them)."""
        iterator = iter(items)
        while True:
            with self.timed(name):
                try:
                    item = next(iterator)
                except StopIteration:
                    return
            yield item

    def ms_per_alert(self, alerts: int) -> dict[str, float]:
        """Each stage's milliseconds per alert over `alerts` alerts; empty before the first."""
        return {name: round(s * 1000 / alerts, 4) for name, s in self.seconds.items()} if alerts else {}

