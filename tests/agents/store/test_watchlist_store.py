"""Writes of watchlists: chunks then header, in order; a failure before the header leaves nothing a
reader would show, and tombstones for the chunks already sent. The worker's filter check on what it holds."""
from __future__ import annotations

import asyncio

import numpy as np
import pytest

from agents.store.watchlists import Books, UnknownRecord, WatchlistStore
from agents.worker.watchlist_context import WatchlistContext
from pipeline.context.areas import AreaBook
from pipeline.context.watchlist_file import Sources
from pipeline.context.watchlist_record import WatchlistBook
from pipeline.filters import FilterError
from pipeline.settings import Settings
from pipeline.streams.filter_record import InvalidFilter
from pipeline.users.records import User

SETTINGS = Settings(watchlist_topic="wl", area_topic="ar")
N = 25_000  # three chunks of JSON


def sources() -> Sources:
    rng = np.random.default_rng(1)
    return Sources(rng.uniform(0, 360, N), rng.uniform(-90, 90, N), np.full(N, np.nan), tuple(f"source {i}" for i in range(N)))


class Broker:
    """Records as sent, in order; the `fail_at`-th send (0-based) raises."""

    def __init__(self, fail_at: int | None = None) -> None:
        self.sent: list[tuple[str, bytes, bytes | None]] = []
        self.fail_at = fail_at

    async def __call__(self, topic: str, key: bytes, value: bytes | None, headers: object) -> None:
        if len(self.sent) == self.fail_at:
            self.fail_at = None
            raise ConnectionError("broker went away")
        self.sent.append((topic, key, value))


def read_back(sent: list[tuple[str, bytes, bytes | None]]) -> WatchlistBook:
    book = WatchlistBook()
    for _, key, value in sent:
        book.apply(key, value)
    return book


def test_chunks_then_header_then_update_and_delete() -> None:
    broker = Broker()
    store = WatchlistStore(SETTINGS, Books(WatchlistBook(), AreaBook()), broker)
    w = asyncio.run(store.add_watchlist("7", "big", sources(), 3.0))
    assert [k for _, k, _ in broker.sent] == [b"1/1/0", b"1/1/1", b"1/1/2", b"1"] and {t for t, _, _ in broker.sent} == {"wl"}
    assert read_back(broker.sent).items == {1: w}
    asyncio.run(store.update_watchlist(1, name="renamed"))
    assert [k for _, k, _ in broker.sent[4:]] == [b"1"]  # settings only: the chunks stand
    asyncio.run(store.delete_watchlist(1))
    assert [(k, v) for _, k, v in broker.sent[5:]] == [(b"1", None), (b"1/1/0", None), (b"1/1/1", None), (b"1/1/2", None)]
    assert read_back(broker.sent).items == {} and store.books.watchlists.items == {}
    with pytest.raises(UnknownRecord, match="^no watchlist 1$"):
        asyncio.run(store.delete_watchlist(1))


def test_a_failure_before_the_header_saves_nothing() -> None:
    broker = Broker(fail_at=2)
    store = WatchlistStore(SETTINGS, Books(WatchlistBook(), AreaBook()), broker)
    with pytest.raises(ConnectionError):
        asyncio.run(store.add_watchlist("7", "big", sources(), 3.0))
    assert [(k, v is None) for _, k, v in broker.sent] == [(b"1/1/0", False), (b"1/1/1", False),
                                                          (b"1/1/0", True), (b"1/1/1", True), (b"1/1/2", True)]
    assert read_back(broker.sent).items == {} and store.books.watchlists.items == {}


def test_the_workers_filter_check_refuses_unseen_watchlists() -> None:
    context = WatchlistContext(SETTINGS)
    asyncio.run(WatchlistStore(SETTINGS, context.books, Broker(), context.changed).add_watchlist("7", "mine", sources(), 3.0))
    sql = ("SELECT objects.diaObjectId FROM objects, watchlist_hits WHERE objects.diaObjectId=watchlist_hits.diaObjectId "
           "AND watchlist_hits.wl_id={}")
    context.check_filter(sql.format(1), User(7, "owner"))
    with pytest.raises(InvalidFilter, match=r"^watchlist 1 is another user's and not public \(watchlist_hits.wl_id = 1\)$"):
        context.check_filter(sql.format(1), User(8, "other"))
    with pytest.raises(InvalidFilter, match=r"^watchlist 2 does not exist"):
        context.check_filter(sql.format(2), User(7, "owner"))
    with pytest.raises(FilterError):
        context.check_filter("SELECT", User(7, "owner"))
