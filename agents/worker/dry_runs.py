"""Dry runs and back-fills off the worker's event loop: a small process pool, a cap, a queue, 429 past it.

Why processes, not threads: decoding and featurising an alert is pure Python and holds the GIL,
so in a thread it would still take turns with the stream's own decoding on the event loop. In a
pool process it uses another core and the stream only pays for pickling a chunk of raw bytes.
The recent messages are fetched on the loop (it is I/O); the pool gets the raw bytes and the
filter record and gives back counts and the few records kept (`pipeline.streams.dry_run`).

Bounds: at most `concurrency` runs hold a slot; a run fetches its messages once it has one and
sends them one chunk at a time, so it keeps one pool process busy, the pool never queues work,
and the worker holds at most `concurrency` runs' raw messages and `keep` records each. Up to
`queue` more runs wait for a slot; past that `Busy` is raised and the HTTP API answers 429.

Fair sharing (issue 15), in the worker's pool (`fair=True`): runs are counted per owner (the
filter record's user), and one owner holds at most `user_slots` of the processes (half, at least
one) and `user_places` of the places (half, at least those slots), so one user's burst can neither
keep every process busy (the stream keeps a core; others' runs still start) nor fill the queue
(others are still admitted). A user's run waits for its own slot before it takes a shared one,
so it never holds a shared slot while waiting; the shared slots then go first come, first served.
"""
from __future__ import annotations

import asyncio
import logging
import math
import multiprocessing
import os
import time
from collections import Counter
from concurrent.futures import ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool

from agents.kafka.connection import KafkaConnection
from agents.store.filters import recent_messages
from pipeline.settings import Settings
from pipeline.streams.dry_run import CHUNK, Tally, tally_chunk
from pipeline.streams.filter_record import FilterRecord

log = logging.getLogger("alertflow.dry_runs")

FIRST_GUESS_SECONDS = 2.0  # a run's duration before one has been timed (~2,000 alerts)
NICENESS = 10  # pool processes yield the CPU to the stream when cores are short


class Busy(Exception):
    """Every slot and queue place is taken (or the caller's share of them): come back after `retry_after` seconds."""

    def __init__(self, retry_after: int, yours: int | None = None):
        mine = f"you have {yours} dry runs and back-fills running or waiting, at most {yours}" if yours is not None else ""
        super().__init__(f"{mine or 'too many dry runs and back-fills at once'}; try again in {retry_after} s")
        self.retry_after = retry_after


class PoolFailed(Exception):
    """A pool process died (killed, out of memory); the pool is rebuilt for the next run."""


class DryRunPool:
    """A `RecentMatches` (agents.store.filters) that computes in a process pool; one per worker."""

    def __init__(self, settings: Settings, kafka: KafkaConnection, concurrency: int, queue: int, fair: bool = False):
        self.settings = settings
        self.kafka = kafka
        self.concurrency = max(1, concurrency)
        self.capacity = self.concurrency + max(0, queue)
        self.admitted = 0  # running and waiting
        self._slots = asyncio.Semaphore(self.concurrency)
        self.user_slots = max(1, self.concurrency // 2) if fair else self.concurrency
        self.user_places = max(self.user_slots, self.capacity // 2) if fair else self.capacity
        self._by_user: Counter[str] = Counter()  # runs admitted per owner
        self._user_slots: dict[str, asyncio.Semaphore] = {}  # while the owner has runs admitted
        self._executor: ProcessPoolExecutor | None = None
        self._seconds = FIRST_GUESS_SECONDS  # running mean of a run's duration, for Retry-After

    @classmethod
    def for_settings(cls, settings: Settings, kafka: KafkaConnection) -> DryRunPool:
        return cls(settings, kafka, settings.dry_run_concurrency, settings.dry_run_queue, fair=True)

    def retry_after(self) -> int:
        """Seconds until a place is likely free: the runs ahead, shared by the slots, at the mean duration."""
        return max(1, math.ceil(self._seconds * self.admitted / self.concurrency))

    async def __call__(self, record: FilterRecord, keep: int) -> Tally:
        user = record.user
        if self.admitted >= self.capacity:
            raise Busy(self.retry_after())
        if self._by_user[user] >= self.user_places:
            raise Busy(self.retry_after(), yours=self.user_places)
        self.admitted += 1
        self._by_user[user] += 1
        own = self._user_slots.setdefault(user, asyncio.Semaphore(self.user_slots))
        try:
            async with own, self._slots:
                started = time.monotonic()
                result = await self._run(record, keep)
                self._seconds = 0.8 * self._seconds + 0.2 * (time.monotonic() - started)
                return result
        finally:
            self.admitted -= 1
            self._by_user[user] -= 1
            if not self._by_user[user]:  # nobody waits on its semaphore any more
                del self._by_user[user], self._user_slots[user]

    async def _run(self, record: FilterRecord, keep: int) -> Tally:
        messages = await recent_messages(self.settings, self.kafka)
        loop, total = asyncio.get_running_loop(), Tally()
        while messages:
            chunk = messages[:CHUNK]
            del messages[:CHUNK]  # the raw bytes go as soon as they are sent
            try:
                found = await loop.run_in_executor(self._pool(), tally_chunk, record, chunk, self.settings.schema_dir,
                                                   self.settings.schema_registry_url, keep)
            except BrokenProcessPool as exc:
                self.close()
                raise PoolFailed(f"a dry-run process died: {exc}") from None
            total.add(found, keep)
        return total

    def _pool(self) -> ProcessPoolExecutor:
        """Started on first use; "spawn", as forking a process running an event loop and threads is unsafe;
        niced, so that on a machine with fewer free cores than processes the stream still comes first."""
        if self._executor is None:
            self._executor = ProcessPoolExecutor(self.concurrency, mp_context=multiprocessing.get_context("spawn"),
                                                 initializer=os.nice, initargs=(NICENESS,))
        return self._executor

    def close(self) -> None:
        if self._executor is not None:
            self._executor.shutdown(wait=False, cancel_futures=True)
            self._executor = None
