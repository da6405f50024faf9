"""Per-user fair-use limits as bookkeeping: each check answers None (go ahead) or what was exceeded.

The HTTP API turns an `OverLimit` into 429 with `Retry-After` (when waiting helps) and the message.
Counting limits (active filters) free up only when the user acts, so they carry no retry time;
rate limits (dry-runs per minute) say when the next one will be accepted.
"""
from __future__ import annotations

import math
from collections import deque
from collections.abc import Callable, Hashable, Iterable
from dataclasses import dataclass
from typing import Protocol


@dataclass(frozen=True)
class OverLimit:
    limit: str  # the setting's name, e.g. "max_active_filters"
    message: str
    retry_after: float | None = None  # seconds until a retry can succeed; None: not until the user changes something

    @property
    def retry_after_header(self) -> str | None:
        """The `Retry-After` value: whole seconds, rounded up, at least 1."""
        return None if self.retry_after is None else str(max(1, math.ceil(self.retry_after)))


class ActiveOwned(Protocol):
    @property
    def id(self) -> str: ...

    @property
    def user(self) -> str: ...

    @property
    def active(self) -> bool: ...


def active_filters_over(records: Iterable[ActiveOwned], candidate: ActiveOwned, limit: int) -> OverLimit | None:
    """Whether saving `candidate` (new, or a new version of one in `records`) gives its owner more than `limit` active filters."""
    if not candidate.active:
        return None
    others = sum(1 for r in records if r.user == candidate.user and r.active and r.id != candidate.id)
    if others < limit:
        return None
    return OverLimit("max_active_filters", f"user {candidate.user} already has {others} active filters, at most {limit}:"
                                           " make one inactive or delete it first")


class RateLimit:
    """At most `per_window` events per key in any `window` seconds: a sliding log, exact, holding at most
    `per_window` times per key (so memory is bounded by users times the limit)."""

    def __init__(self, name: str, per_window: int, clock: Callable[[], float], window: float = 60.0) -> None:
        if per_window < 1:
            raise ValueError(f"{name} must be at least 1, got {per_window}")
        self.name = name
        self.per_window = per_window
        self.clock = clock
        self.window = window
        self._events: dict[Hashable, deque[float]] = {}  # user id (or client address) -> recent event times

    def take(self, key: Hashable) -> OverLimit | None:
        """Count one event for `key` if the limit allows it; else what to tell the client (nothing is counted)."""
        now = self.clock()
        events = self._events.setdefault(key, deque())
        while events and events[0] <= now - self.window:
            events.popleft()
        if len(events) >= self.per_window:
            wait = events[0] + self.window - now
            return OverLimit(self.name, f"at most {self.per_window} per {self.window:g} s; try again in {math.ceil(wait)} s", wait)
        events.append(now)
        return None
