"""How much a worker has sent that the broker has not yet acknowledged."""
from __future__ import annotations

import asyncio
from collections import deque


class Unconfirmed:
    """Batches whose records the broker has not yet acknowledged, with their bytes.

    The next batch is processed while earlier ones are in flight; past `max_bytes` the worker waits
    for the oldest, so a slow broker makes it slower, never bigger.
    """

    def __init__(self, max_bytes: int):
        self.max_bytes = max_bytes
        self.bytes = 0
        self.batches: deque[tuple[asyncio.Task, int]] = deque()

    def add(self, release: asyncio.Task, size: int) -> None:
        self.batches.append((release, size))
        self.bytes += size

    async def settle(self) -> None:
        """Forget the batches already confirmed, and wait for the oldest ones while over the limit."""
        while self.batches and (self.bytes > self.max_bytes or self.batches[0][0].done()):
            release, size = self.batches[0]
            await release
            self.batches.popleft()
            self.bytes -= size
