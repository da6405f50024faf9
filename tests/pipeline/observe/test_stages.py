"""StageClock: each stage's CPU time, what a lazy iterable costs, and what `/stats` shows of it."""
from __future__ import annotations

import asyncio
import gc
from collections.abc import Iterator

import pytest

from pipeline.observe.stages import STAGES, StageClock
from pipeline.observe.stats import WorkerStats


class FakeCpu:
    """A CPU clock the test advances by hand."""

    def __init__(self) -> None:
        self.t = 0.0

    def __call__(self) -> float:
        return self.t


def test_blocks_add_up_per_stage_and_others_stay_zero() -> None:
    cpu = FakeCpu()
    clock = StageClock(cpu)
    with clock.timed("decode"):
        cpu.t += 0.5
    cpu.t += 10.0  # outside any stage: not counted
    with clock.timed("decode"):
        cpu.t += 0.25
    with clock.timed("filters"):
        cpu.t += 1.0
    assert clock.seconds == {**dict.fromkeys(STAGES, 0.0), "decode": 0.75, "filters": 1.0}


def test_a_failing_block_is_still_counted() -> None:
    cpu = FakeCpu()
    clock = StageClock(cpu)
    with pytest.raises(ValueError), clock.timed("features"):
        cpu.t += 2.0
        raise ValueError("feature bug")
    assert clock.seconds["features"] == 2.0


def test_two_tasks_inside_one_stage_each_count_their_own_span() -> None:
    cpu = FakeCpu()
    clock = StageClock(cpu)
    first_inside, second_done = asyncio.Event(), asyncio.Event()

    async def first() -> None:
        with clock.timed("produce"):
            first_inside.set()
            await second_done.wait()  # suspended: the second task runs its own span meanwhile
            cpu.t += 1.0

    async def second() -> None:
        await first_inside.wait()
        with clock.timed("produce"):
            cpu.t += 3.0
        second_done.set()

    async def both() -> None:
        await asyncio.gather(first(), second())

    asyncio.run(both())
    assert clock.seconds["produce"] == 3.0 + 4.0  # the second's 3 s, the first's span from 0 to 4 s


def test_timed_each_counts_producing_items_not_the_callers_work_between() -> None:
    cpu = FakeCpu()
    clock = StageClock(cpu)

    def payloads() -> Iterator[str]:
        for name in ("a", "b", "c"):
            cpu.t += 0.5
            yield name
        cpu.t += 0.125  # finding there is no more is counted too

    got = []
    for item in clock.timed_each("payloads", payloads()):
        cpu.t += 7.0  # the caller's work (sending it)
        got.append(item)
    assert got == ["a", "b", "c"]
    assert clock.seconds["payloads"] == 1.625


def test_stats_show_stage_cpu_per_alert_and_totals() -> None:
    cpu = FakeCpu()
    stats = WorkerStats(stages=StageClock(cpu))
    assert stats.summary()["stage_cpu_ms_per_alert"] == {}
    with stats.stages.timed("decode"):
        cpu.t += 0.002
    stats.processed(4, 0, started=0.0)
    summary = stats.summary()
    assert summary["stage_cpu_ms_per_alert"]["decode"] == 0.5
    assert summary["stage_cpu_ms_per_alert"]["payloads"] == 0.0
    assert summary["stage_cpu_seconds"]["decode"] == 0.002
    assert list(summary["stage_cpu_seconds"]) == list(STAGES)


def test_the_default_clock_is_this_threads_cpu_not_wall_time() -> None:
    clock = StageClock()
    with clock.timed("filters"):
        sum(i * i for i in range(200_000))
    with clock.timed("context"):
        asyncio.run(asyncio.sleep(0.05))  # waiting costs (almost) no CPU
    assert clock.seconds["filters"] > 0
    assert clock.seconds["context"] < 0.04


def test_garbage_collections_are_counted_apart() -> None:
    ticks = iter(range(0, 10_000))
    clock = StageClock(lambda: float(next(ticks)))  # one second per reading: a collection spans one
    clock.count_gc()
    try:
        gc.collect()
    finally:
        gc.callbacks.remove(clock._gc_phase)
    assert clock.gc_seconds >= 1.0 and clock.gc_seconds.is_integer()  # the collection, and any the test's own allocations caused
    assert clock.seconds["decode"] == 0.0, "a collection is not a stage of its own"
    assert WorkerStats(stages=clock).summary()["gc_cpu_seconds"] == clock.gc_seconds
