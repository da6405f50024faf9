"""Watchlists on a compacted topic: header + chunks, seen by readers only when complete."""
from __future__ import annotations

import random

import numpy as np
import orjson
import pytest

from pipeline.context.watchlist_chunks import CHUNK_BYTES
from pipeline.context.watchlist_file import Sources
from pipeline.context.watchlist_limits import MAX_NAME_CHARS, MAX_SOURCES
from pipeline.context.watchlist_record import InvalidWatchlist, Watchlist, WatchlistBook, revised


def sources(n: int, seed: int = 1, name_chars: int = 8) -> Sources:
    rng = np.random.default_rng(seed)
    radius = rng.uniform(1, 1800, n)
    radius[::3] = np.nan
    names = tuple(f"{i:0{name_chars}d}"[-name_chars:] for i in range(n))
    return Sources(rng.uniform(0, 360, n), np.degrees(np.arcsin(rng.uniform(-1, 1, n))), radius, names)


def watchlist(n: int = 10, **fields) -> Watchlist:
    return Watchlist(**{"id": 3, "owner": "7", "name": "my list", "radius": 5.0, "sources": sources(n), **fields})


def applied(book: WatchlistBook, records) -> WatchlistBook:
    for key, value in records:
        book.apply(key, value)
    return book


def test_a_full_size_watchlist_round_trips_in_chunks_under_the_message_limit():
    big = watchlist(MAX_SOURCES, sources=sources(MAX_SOURCES, name_chars=MAX_NAME_CHARS))
    records = WatchlistBook().save(big)
    chunks, (header_key, header) = records[:-1], records[-1]
    assert len(chunks) > 1 and all(len(value) <= CHUNK_BYTES for _, value in chunks)
    assert [key for key, _ in chunks] == [f"3/1/{i}".encode() for i in range(len(chunks))] and header_key == b"3"
    assert orjson.loads(header)["n_sources"] == MAX_SOURCES
    reader = applied(WatchlistBook(), records)
    assert reader.items == {3: big}


def test_nothing_is_seen_until_every_chunk_of_the_headers_version_is_there():
    records = WatchlistBook().save(watchlist(MAX_SOURCES))
    shuffled = records[:]
    random.Random(4).shuffle(shuffled)
    book = WatchlistBook()
    for key, value in shuffled[:-1]:
        assert not book.apply(key, value) and book.items == {}
    assert book.apply(*shuffled[-1]) and book.items[3] == watchlist(MAX_SOURCES) and book.generation == 1


def test_new_sources_are_a_new_version_and_old_chunks_are_tombstoned():
    writer = applied(WatchlistBook(), WatchlistBook().save(watchlist(10)))
    new = revised(writer.items[3], sources=sources(5, seed=2))
    records = writer.save(new)
    assert new.version == 2
    assert [k for k, v in records] == [b"3/2/0", b"3", b"3/1/0"] and records[-1][1] is None
    reader = applied(WatchlistBook(), WatchlistBook().save(watchlist(10)))
    assert not reader.apply(*records[1])  # the new header before its chunk: the old version is served until the new is whole
    assert reader.items == {3: watchlist(10)}
    reader.apply(*records[0])
    assert reader.items == {3: new}
    reader.apply(b"3/1/0", WatchlistBook().save(watchlist(10))[0][1])  # a late chunk of the old version changes nothing
    assert reader.items == {3: new}


def test_header_only_change_keeps_the_chunks():
    writer = applied(WatchlistBook(), WatchlistBook().save(watchlist(10)))
    off = revised(writer.items[3], active=False, radius=30.0, name="renamed")
    records = writer.save(off)
    assert [k for k, _ in records] == [b"3"] and off.version == 1
    applied(writer, records)
    assert writer.items[3] == off and writer.generation == 2
    assert writer.items[3].radii()[0] == 30.0  # a source without its own radius follows the default


def test_deletion_removes_it_at_its_header_tombstone():
    writer = applied(WatchlistBook(), WatchlistBook().save(watchlist(10)))
    records = writer.deletion(3)
    assert records == [(b"3", None), (b"3/1/0", None)]
    assert writer.apply(*records[0]) and writer.items == {} and writer.next_id() == 4


def test_deletion_during_an_update_tombstones_both_versions_chunks():
    writer = applied(WatchlistBook(), WatchlistBook().save(watchlist(10)))
    update = writer.save(revised(writer.items[3], sources=sources(4, seed=5)))
    writer.apply(*update[1])  # the new header arrived, its chunk not yet
    assert writer.deletion(3) == [(b"3", None), (b"3/1/0", None), (b"3/2/0", None)]


def test_chunks_of_another_write_of_the_same_version_are_not_mixed_in():
    first = WatchlistBook().save(watchlist(10))
    other = WatchlistBook().save(watchlist(10, sources=sources(10, seed=9)))
    book = WatchlistBook()
    book.apply(*first[-1])
    book.apply(*other[0])  # same key 3/1/0, other content: the sha256 of the header does not match
    assert book.items == {}
    book.apply(*first[0])
    assert book.items == {3: watchlist(10)}


def test_a_malformed_record_is_left_out_with_its_reason():
    book = WatchlistBook()
    book.apply(b"5", b"not json")
    book.apply(b"nonsense/key", b"{}")
    header = orjson.loads(WatchlistBook().save(watchlist(10, id=6))[-1][1])
    chunk = WatchlistBook().save(watchlist(10, id=6))[0]
    book.apply(*chunk)
    book.apply(b"6", orjson.dumps({**header, "radius": -1}))
    assert book.items == {}
    assert book.invalid == {5: "its header is not JSON with version, n_chunks and sha256",
                            6: "its header is not valid: radius -1 must be a number of arcsec over 0 and at most 1800"}


@pytest.mark.parametrize("fields, message", [
    ({"radius": 1801.0}, "radius 1801.0 must be a number of arcsec over 0 and at most 1800"),
    ({"radius": True}, "radius True must be a number of arcsec over 0 and at most 1800"),
    ({"owner": "7; drop"}, "owner '7; drop' must be a user id of letters and digits"),
    ({"name": "two\nlines"}, "name must not hold control characters (newlines, tabs, escapes)"),
    ({"name": " "}, "name must not be empty"),
    ({"active": "no"}, "active must be true or false, got 'no'"),
    ({"id": 0}, "id 0 must be a positive integer"),
    ({"sources": Sources(np.array([1.0]), np.array([95.0]), np.array([np.nan]), ("a",))},
     "sources: every ra must be in [0, 360) and every dec in [-90, 90] degrees"),
])
def test_invalid_watchlist_names_the_field_and_writes_nothing(fields, message):
    with pytest.raises(InvalidWatchlist) as caught:
        WatchlistBook().save(watchlist(**fields))
    assert str(caught.value) == message
