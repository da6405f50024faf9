"""What one web server holds: the books it follows from the compacted topics, and one producer.

It keeps nothing of its own: filters, users, usage, pending digests, watchlists and areas are read
from the same topics every worker follows, and writes go through `FilterAdmin` and
`WatchlistStore` (as the command line's and the HTTP API's do). So any number of copies can run behind a load balancer, each answering alike.
"""
from __future__ import annotations

import asyncio
import logging
import time
from dataclasses import dataclass, field

from agents.cli.status import DigestSizes, Filters, digest_changelog_topic
from agents.kafka.admin import TopicSpec, ensure_topics, topic_names
from agents.kafka.compacted import CompactedReader
from agents.kafka.connection import KafkaConnection
from agents.kafka.topology import COMPACT, core_topics
from agents.store.filters import FilterAdmin, ProducerSend
from agents.store.watchlists import Books, WatchlistStore
from pipeline.context.areas import AreaBook
from pipeline.context.watchlist_record import WatchlistBook
from pipeline.settings import Settings
from pipeline.streams.filter_record import FilterRecord
from pipeline.streams.usage import UsageBook
from pipeline.users.fair_use import RateLimit
from pipeline.users.records import UserBook
from pipeline.users.tokens import TokenVerifier

log = logging.getLogger("alertflow.web")


def users_topic(settings: Settings) -> TopicSpec:
    return TopicSpec(settings.users_topic, 1, settings.replication, COMPACT)


@dataclass
class WebState:
    settings: Settings
    kafka: KafkaConnection
    filters: Filters = field(default_factory=Filters)
    users: UserBook = field(default_factory=UserBook)
    usage: UsageBook = field(default_factory=lambda: UsageBook("web", time.time))
    digests: DigestSizes = field(default_factory=DigestSizes)
    verifier: TokenVerifier | None = None
    dry_runs: RateLimit | None = None  # per copy of the server: with n copies behind a balancer a user gets up to n times the rate
    books: Books = field(default_factory=lambda: Books(WatchlistBook(), AreaBook()))
    admin: FilterAdmin | None = None
    watchlists: WatchlistStore | None = None
    _send: ProducerSend | None = None
    _reader: asyncio.Task[None] | None = None

    async def start(self) -> None:
        """Create the topics it follows if missing, read them to their end, then keep following in the background."""
        await ensure_topics(self.kafka, [*core_topics(self.settings), users_topic(self.settings)])
        self.verifier = TokenVerifier(self.users, time.time, self.settings.token_cache_seconds)
        self.dry_runs = RateLimit("dry_runs_per_minute", self.settings.dry_runs_per_minute, time.monotonic)
        handlers = {self.settings.registry_topic: self.filters.apply, self.settings.usage_topic: self.usage.apply,
                    self.settings.users_topic: self.users.apply, self.settings.watchlist_topic: self.books.watchlists.apply,
                    self.settings.area_topic: self.books.areas.apply}
        digests = digest_changelog_topic(self.settings)
        if digests in await topic_names(self.kafka):  # created by the first worker; none before
            handlers[digests] = self.digests.apply
        reader = CompactedReader(self.kafka, handlers, client_id="alertflow-web")
        self._reader = asyncio.create_task(reader.follow())
        self._send = await ProducerSend(self.kafka, self.settings.max_message_bytes).__aenter__()
        self.admin = FilterAdmin(self.settings, self.kafka, self._send)
        self.watchlists = WatchlistStore(self.settings, self.books, self._send)  # applies its writes to `books` at once
        loaded = asyncio.create_task(reader.loaded.wait())
        await asyncio.wait([loaded, self._reader], return_when=asyncio.FIRST_COMPLETED)
        if not loaded.done():
            loaded.cancel()
            self._reader.result()  # the reader failed: raise its error

    async def stop(self) -> None:
        if self._reader is not None:
            self._reader.cancel()
            await asyncio.gather(self._reader, return_exceptions=True)
        if self._send is not None:
            await self._send.__aexit__(None, None, None)

    def saved(self, record: FilterRecord | None, filter_id: str) -> None:
        """Apply our own write at once, so the page after a save shows it; the reader applies the same record again."""
        self.filters.apply(filter_id.encode(), None if record is None else record.to_json())
