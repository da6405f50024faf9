"""Per-user limits: active filters and dry-runs per minute, with the Retry-After a 429 would carry."""
from __future__ import annotations

from dataclasses import replace

import pytest

from pipeline.clock import ManualClock
from pipeline.streams.filter_record import create
from pipeline.users.fair_use import OverLimit, RateLimit, active_filters_over

SQL = "SELECT objects.diaObjectId FROM objects WHERE objects.nDiaSources >= 3"


def test_active_filters_are_counted_per_owner() -> None:
    first, second = create("lasair_", "1", "one", SQL, "plain"), create("lasair_", "1", "two", SQL, "plain")
    resting = create("lasair_", "1", "resting", SQL, "plain", active=False)
    others = [create("lasair_", "2", f"b{i}", SQL, "plain") for i in range(5)]
    records = [first, second, resting, *others]
    third = create("lasair_", "1", "three", SQL, "plain")
    over = active_filters_over(records, third, limit=2)
    assert over == OverLimit("max_active_filters", "user 1 already has 2 active filters, at most 2: make one inactive or delete it first")
    assert over.retry_after is None and over.retry_after_header is None  # waiting does not help: no Retry-After
    assert active_filters_over(records, replace(third, active=False), limit=2) is None   # an inactive filter is always allowed
    assert active_filters_over(records, replace(first, sql=SQL + " AND ra > 1"), limit=2) is None  # a new version of an active one
    assert active_filters_over(records, replace(resting, active=True), limit=2) is not None  # reactivating counts
    assert active_filters_over(records, third, limit=3) is None
    assert active_filters_over(records, create("lasair_", "3", "c", SQL, "plain"), limit=1) is None


def test_dry_runs_per_minute_with_the_time_to_wait() -> None:
    clock = ManualClock(1000.0)
    dry_runs = RateLimit("dry_runs_per_minute", 3, clock)
    for now in (1000.0, 1010.0, 1020.0):
        clock.now = now
        assert dry_runs.take(1) is None
    clock.now = 1020.5
    over = dry_runs.take(1)
    assert over == OverLimit("dry_runs_per_minute", "at most 3 per 60 s; try again in 40 s", 39.5)
    assert over is not None and over.retry_after_header == "40"
    assert dry_runs.take(2) is None  # another user is not held back
    clock.now = 1059.9
    assert dry_runs.take(1) is not None  # refused attempts are not counted, but the first is still in the window
    clock.now = 1060.0
    assert dry_runs.take(1) is None  # a minute after the first
    over = dry_runs.take(1)
    assert over is not None and over.retry_after == 10.0  # the next frees at 1070


def test_a_sliding_window_not_a_fixed_one() -> None:
    clock = ManualClock(0.0)
    dry_runs = RateLimit("dry_runs_per_minute", 2, clock)
    assert dry_runs.take(7) is None
    clock.advance(59.0)
    assert dry_runs.take(7) is None
    clock.advance(2.0)  # a fixed minute would now allow two more
    assert dry_runs.take(7) is None
    over = dry_runs.take(7)
    assert over is not None and over.retry_after == pytest.approx(58.0) and over.retry_after_header == "58"


def test_retry_after_is_at_least_one_second_and_limits_at_least_one() -> None:
    assert OverLimit("x", "m", 0.01).retry_after_header == "1"
    with pytest.raises(ValueError, match="dry_runs_per_minute must be at least 1, got 0"):
        RateLimit("dry_runs_per_minute", 0, ManualClock())
