"""A worker's watchlists and areas: followed on their topics, indexed off the batch path.

The compacted reader applies every record to the books; a change wakes `keep_indexes`, which
builds the new indexes in a thread (a million sources take ~2 s) while batches go on with the
old ones, then swaps them into the sources between two batches. A change is live on every
worker within a build's time of its record reaching the topic, without a restart.
"""
from __future__ import annotations

import asyncio
import logging

from agents.kafka.compacted import Handler
from agents.store.watchlists import Books
from pipeline.context.areas import AreaBook, AreaIndex
from pipeline.context.sources_watchlists import AreaSource, WatchlistSource
from pipeline.context.watchlist_index import WatchlistIndex
from pipeline.context.watchlist_record import WatchlistBook
from pipeline.filters import compile_filter
from pipeline.settings import Settings
from pipeline.streams.filter_record import InvalidFilter
from pipeline.users.records import User
from pipeline.users.watchlist_views import refused_references

log = logging.getLogger("alertflow.watchlists")


class WatchlistContext:
    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.books = Books(WatchlistBook(), AreaBook())
        self.watchlist_source = WatchlistSource()
        self.area_source = AreaSource()
        self.handlers: dict[str, Handler] = {settings.watchlist_topic: self._follow(self.books.watchlists.apply),
                                             settings.area_topic: self._follow(self.books.areas.apply)}
        self.ready = asyncio.Event()  # set once the indexes hold everything read at start
        self._changed = asyncio.Event()

    @property
    def sources(self) -> list[WatchlistSource | AreaSource]:
        return [self.watchlist_source, self.area_source]

    def check_filter(self, sql: str, viewer: User | None) -> None:
        """Refuse (InvalidFilter) a filter naming watchlists or areas that do not exist or `viewer` may not
        see; FilterError if it does not compile. For the HTTP API's filter saves."""
        problems = refused_references(compile_filter(sql), viewer, self.books.watchlists.items, self.books.areas.items,
                                      everyone={self.settings.tns_watchlist_id})
        if problems:
            raise InvalidFilter("; ".join(problems))

    def changed(self) -> None:
        """The books changed (a write of this worker's own, applied at once): rebuild the indexes."""
        self._changed.set()

    def _follow(self, apply: Handler) -> Handler:
        def handle(key: bytes | None, value: bytes | None) -> None:
            if apply(key, value):
                self._changed.set()
        return handle

    async def keep_indexes(self, loaded: asyncio.Event) -> None:
        """Rebuild and swap the indexes whenever the books change, until cancelled."""
        await loaded.wait()
        loop = asyncio.get_running_loop()
        built = (-1, -1)
        while True:
            self._changed.clear()
            wanted = (self.books.watchlists.generation, self.books.areas.generation)
            if wanted != built:
                watchlists, areas = list(self.books.watchlists.items.values()), list(self.books.areas.items.values())
                started = loop.time()
                index = await loop.run_in_executor(None, WatchlistIndex, watchlists)
                area_index = AreaIndex(areas)  # holds the MOCs as they are: nothing to build
                self.watchlist_source.swap(index)
                self.area_source.swap(area_index)
                built = wanted
                log.info("watchlist index: %d active sources in %d watchlists, %d active areas (%.2f s)",
                         len(index), len(index.watchlists), len(area_index), loop.time() - started)
            self.ready.set()
            await self._changed.wait()
