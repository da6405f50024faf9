"""Counters a worker keeps about what it has done, for its log line and `/stats` page."""
from __future__ import annotations

import statistics
import time
from collections import Counter, deque
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

from .stages import StageClock

LATENCY_SAMPLES = 20_000


def percentiles(values: Sequence[float], qs: Iterable[int] = (50, 95, 99)) -> dict[int, float] | None:
    """The q-th percentiles of `values` in one pass; None with fewer than two values."""
    if len(values) < 2:
        return None
    cuts = statistics.quantiles(values, n=100)
    return {q: cuts[q - 1] for q in qs}


@dataclass
class WorkerStats:
    """The rate counts from the first alert, so start-up and group join do not dilute it.

    Times are wall-clock (epoch seconds) so that the spans of several workers on one machine
    can be combined into a cluster rate.
    """

    alerts: int = 0
    records: int = 0
    first_at: float | None = None
    last_at: float | None = None
    dead_lettered: Counter[str] = field(default_factory=Counter)
    last_object: dict[str, Any] | None = None
    # per record: its alert's timestamp -> the broker acknowledged it, seconds; bounded, so memory stays flat
    latencies: deque[float] = field(default_factory=lambda: deque(maxlen=LATENCY_SAMPLES))
    # seconds per alert of each context source so far (the worker's ContextStage.cost_per_alert)
    context_cost: Callable[[], dict[str, float]] = dict
    # CPU time of each stage of the batches (the BatchProcessor's clock)
    stages: StageClock = field(default_factory=StageClock)

    def delivered(self, alert_timestamps: list[float], now: float) -> None:
        self.latencies.extend(now - t for t in alert_timestamps)

    def latency_percentiles(self) -> dict[str, float] | None:
        cuts = percentiles(self.latencies)
        return {f"p{q}": round(v, 4) for q, v in cuts.items()} if cuts else None

    def processed(self, n: int, records: int, started: float) -> None:
        """`n` alerts and the `records` they produced, in a batch that began at `started`."""
        if self.first_at is None:
            self.first_at = started
        self.last_at = time.time()
        self.alerts += n
        self.records += records

    def summary(self) -> dict[str, Any]:
        span = (self.last_at or 0.0) - (self.first_at or 0.0)
        return {
            "alerts_processed": self.alerts,
            "records_produced": self.records,
            "dead_lettered": sum(self.dead_lettered.values()),
            "dead_letter_reasons": dict(self.dead_lettered),
            "alerts_per_second": round(self.alerts / span, 1) if span > 0 else None,
            "first_alert_at": self.first_at,
            "last_alert_at": self.last_at,
            "latency_seconds": self.latency_percentiles(),
            "last_object": self.last_object,
            "context_ms_per_alert": {name: round(s * 1000, 4) for name, s in self.context_cost().items()},
            # CPU per alert by stage; the totals let a benchmark take the difference over its own window
            "stage_cpu_ms_per_alert": self.stages.ms_per_alert(self.alerts),
            "stage_cpu_seconds": {name: round(s, 6) for name, s in self.stages.seconds.items()},
            "gc_cpu_seconds": round(self.stages.gc_seconds, 6),
        }
