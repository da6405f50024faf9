"""Saving, changing and deleting watchlists and areas on their compacted topics: shared by the CLI
and the HTTP API.

A record is checked whole before anything is sent. Its records go out one by one, each
acknowledged before the next, so the header follows its chunks on the topic's one partition. If a
send fails before the header, tombstones for the chunks already sent follow (best effort) and the
error is raised: readers never show a record without its header, so nothing is half-saved.
"""
from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from agents.kafka.admin import ensure_topics
from agents.kafka.compacted import CompactedReader
from agents.kafka.connection import KafkaConnection
from agents.kafka.topology import core_topics
from pipeline.context.areas import Area, AreaBook, revised_area
from pipeline.context.watchlist_chunks import Record
from pipeline.context.watchlist_file import Sources
from pipeline.context.watchlist_record import Watchlist, WatchlistBook, revised
from pipeline.filters import compile_filter
from pipeline.settings import Settings
from pipeline.users.records import User
from pipeline.users.watchlist_views import refused_references

log = logging.getLogger("alertflow.watchlists")

# topic, key, value, headers -> once the broker acknowledged it (store.filters.ProducerSend fits)
Send = Callable[[str, bytes, bytes | None, list[tuple[str, bytes]] | None], Awaitable[Any]]


class UnknownRecord(LookupError):
    """No watchlist or area of that id; the message is one line."""


@dataclass
class Books:
    watchlists: WatchlistBook
    areas: AreaBook


async def load_books(settings: Settings, kafka: KafkaConnection) -> Books:
    """Every watchlist and area as the workers see them, read once (the topics are created if new)."""
    books = Books(WatchlistBook(), AreaBook())
    await ensure_topics(kafka, core_topics(settings))
    await CompactedReader(kafka, {settings.watchlist_topic: books.watchlists.apply, settings.area_topic: books.areas.apply},
                          client_id="alertflow-watchlists").read_all()
    return books


async def write(send: Send, topic: str, records: list[Record], apply: Callable[[bytes | None, bytes | None], Any]) -> None:
    """Send `records` in order, each acknowledged before the next, and apply them to the writer's book.

    A failure before the header (the first record with a key without '/') is followed by tombstones
    for the chunks already sent, then raised.
    """
    sent: list[bytes] = []
    for key, value in records:
        try:
            await send(topic, key, value, None)
        except BaseException:
            if b"/" in key:  # still among the chunks: the header was not sent, so the record never existed
                for chunk in [*sent, key]:
                    try:
                        await send(topic, chunk, None, None)
                    except Exception:  # noqa: BLE001 - the broker is gone; compaction can't show a header that never came
                        break
            raise
        if b"/" in key and value is not None:
            sent.append(key)
        apply(key, value)


async def refused_references_of(settings: Settings, kafka: KafkaConnection, sql: str, viewer: User | None) -> list[str]:
    """Why a filter may not be saved for `viewer`: watchlists and areas it names that do not exist or
    that `viewer` may not see (read from their topics now). FilterError if the SQL does not compile."""
    compiled = compile_filter(sql)
    if not any(table in ("watchlist_hits", "area_hits") for table, _ in compiled.joins):
        return []
    books = await load_books(settings, kafka)
    return refused_references(compiled, viewer, books.watchlists.items, books.areas.items, everyone={settings.tns_watchlist_id})


class WatchlistStore:
    """Writes through `send`, keeping `books` up to date (ids come from them); `changed` is called
    after each write (a worker rebuilds its indexes: reading its own write back changes nothing)."""

    def __init__(self, settings: Settings, books: Books, send: Send, changed: Callable[[], None] = lambda: None) -> None:
        self.settings = settings
        self.books = books
        self.send = send
        self.changed = changed

    async def _write(self, topic: str, records: list[Record], apply: Callable[[bytes | None, bytes | None], Any]) -> None:
        try:
            await write(self.send, topic, records, apply)
        finally:
            self.changed()

    def watchlist(self, wl_id: int) -> Watchlist:
        found = self.books.watchlists.items.get(wl_id)
        if found is None:
            raise UnknownRecord(f"no watchlist {wl_id}")
        return found

    def area(self, ar_id: int) -> Area:
        found = self.books.areas.items.get(ar_id)
        if found is None:
            raise UnknownRecord(f"no area {ar_id}")
        return found

    async def add_watchlist(self, owner: str, name: str, sources: Sources, radius: float, **fields: Any) -> Watchlist:
        """A new watchlist (InvalidWatchlist naming the field if it cannot be saved)."""
        book = self.books.watchlists
        watchlist = Watchlist(book.next_id(), str(owner), name, radius, sources, **fields)
        await self._write(self.settings.watchlist_topic, book.save(watchlist), book.apply)
        log.info("watchlist %d added: %d sources, owner %s", watchlist.id, len(sources), owner)
        return watchlist

    async def update_watchlist(self, wl_id: int, **changes: Any) -> Watchlist:
        """The watchlist with `changes`; its sources' chunks are rewritten only if the sources changed."""
        book = self.books.watchlists
        watchlist = revised(self.watchlist(wl_id), **changes)
        await self._write(self.settings.watchlist_topic, book.save(watchlist), book.apply)
        log.info("watchlist %d updated (version %d)", wl_id, watchlist.version)
        return watchlist

    async def delete_watchlist(self, wl_id: int) -> None:
        book = self.books.watchlists
        self.watchlist(wl_id)
        await self._write(self.settings.watchlist_topic, book.deletion(wl_id), book.apply)
        log.info("watchlist %d deleted", wl_id)

    async def add_area(self, owner: str, name: str, moc: Any, **fields: Any) -> Area:
        """A new area (InvalidArea naming the field if it cannot be saved)."""
        book = self.books.areas
        area = Area(book.next_id(), str(owner), name, moc, **fields)
        await self._write(self.settings.area_topic, book.save(area), book.apply)
        log.info("area %d added, owner %s", area.id, owner)
        return area

    async def update_area(self, ar_id: int, **changes: Any) -> Area:
        book = self.books.areas
        area = revised_area(self.area(ar_id), **changes)
        await self._write(self.settings.area_topic, book.save(area), book.apply)
        return area

    async def delete_area(self, ar_id: int) -> None:
        book = self.books.areas
        self.area(ar_id)
        await self._write(self.settings.area_topic, book.deletion(ar_id), book.apply)
        log.info("area %d deleted", ar_id)
