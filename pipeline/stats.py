"""Counters a worker keeps about what it has done, for its log line and `/stats` page."""
from __future__ import annotations

import time
from collections import Counter
from dataclasses import dataclass, field
from typing import Any


@dataclass
class WorkerStats:
    """The rate counts from the first alert, so start-up and group join do not dilute it."""

    alerts: int = 0
    first_at: float | None = None
    last_at: float | None = None
    dead_lettered: Counter[str] = field(default_factory=Counter)
    last_object: dict[str, Any] | None = None

    def processed(self, n: int, started: float) -> None:
        """`n` alerts handled in a batch that began at `started` (time.monotonic)."""
        if self.first_at is None:
            self.first_at = started
        self.last_at = time.monotonic()
        self.alerts += n

    def summary(self) -> dict[str, Any]:
        span = (self.last_at or 0.0) - (self.first_at or 0.0)
        return {
            "alerts_processed": self.alerts,
            "dead_lettered": sum(self.dead_lettered.values()),
            "dead_letter_reasons": dict(self.dead_lettered),
            "alerts_per_second": round(self.alerts / span, 1) if span > 0 else None,
            "last_object": self.last_object,
        }
