"""A stored watchlist: its settings and sources, kept on a compacted topic in chunks.

The header record carries id, owner, name, description, public, active, the default radius
(arcsec), the number of sources and the version of the sources; the body is the sources as
JSON columns (ra, dec, radius with null for "the default", name), cut into chunks
(`watchlist_chunks`). WatchlistBook reads the topic back into complete watchlists.
"""
from __future__ import annotations

import re
from dataclasses import dataclass, replace
from typing import Any

import numpy as np
import orjson

from pipeline.streams.topics import valid_user_id
from .watchlist_chunks import ChunkBook, Record
from .watchlist_file import Sources
from .watchlist_limits import MAX_DESCRIPTION_CHARS, MAX_NAME_CHARS, MAX_RADIUS_ARCSEC, MAX_SOURCES, MAX_TITLE_CHARS

_CONTROL = re.compile(r"[\x00-\x1f\x7f]")


class InvalidWatchlist(ValueError):
    """A watchlist that cannot be saved; the message names the field and why."""


@dataclass(frozen=True)
class Watchlist:
    id: int
    owner: str
    name: str
    radius: float  # default radius (arcsec) of sources that give none
    sources: Sources
    description: str = ""
    public: bool = False
    active: bool = True
    version: int = 1  # of the sources: goes up when they change (see `revised`)

    def fields(self) -> dict[str, Any]:
        """The header record's fields (the chunk layout is added when it is written)."""
        return {"id": self.id, "owner": self.owner, "name": self.name, "description": self.description, "public": self.public,
                "active": self.active, "radius": self.radius, "n_sources": len(self.sources), "version": self.version}

    def radii(self) -> np.ndarray:
        """Each source's radius in arcsec, the default filled in."""
        return np.where(np.isnan(self.sources.radius), self.radius, self.sources.radius)


def revised(previous: Watchlist, **changes: Any) -> Watchlist:
    """`previous` with `changes`; a new version if the sources change, so only then are chunks rewritten."""
    bump = "sources" in changes and changes["sources"] != previous.sources
    return replace(previous, **changes, version=previous.version + 1 if bump else previous.version)


def validate(watchlist: Watchlist) -> Watchlist:
    """The watchlist if it can be saved; InvalidWatchlist naming the field if not."""
    w = watchlist
    check_settings(w, InvalidWatchlist)
    if isinstance(w.radius, bool) or not isinstance(w.radius, (int, float)) or not 0 < w.radius <= MAX_RADIUS_ARCSEC:
        raise InvalidWatchlist(f"radius {w.radius!r} must be a number of arcsec over 0 and at most {MAX_RADIUS_ARCSEC:g}")
    if not 0 < len(w.sources) <= MAX_SOURCES:
        raise InvalidWatchlist(f"a watchlist holds 1 to {MAX_SOURCES:,} sources, this one {len(w.sources):,}")
    _sources(w.sources)
    return watchlist


def check_settings(record: Any, error: type[ValueError]) -> None:
    """The fields a watchlist and an area share: id, owner, name, description, public, active, version."""
    if not _is_int(record.id) or record.id <= 0:
        raise error(f"id {record.id!r} must be a positive integer")
    if not valid_user_id(record.owner):
        raise error(f"owner {record.owner!r} must be a user id of letters and digits")
    _text("name", record.name, MAX_TITLE_CHARS, True, error)
    _text("description", record.description, MAX_DESCRIPTION_CHARS, False, error)
    for flag in ("public", "active"):
        if not isinstance(getattr(record, flag), bool):
            raise error(f"{flag} must be true or false, got {getattr(record, flag)!r}")
    if not _is_int(record.version) or record.version <= 0:
        raise error(f"version {record.version!r} must be a positive integer")


def _sources(s: Sources) -> None:
    """What the file reader guarantees, checked again for sources that came another way (an API, a topic)."""
    if not len(s.ra) == len(s.dec) == len(s.radius) == len(s.names):
        raise InvalidWatchlist("sources: ra, dec, radius and names differ in length")
    if not (np.all((s.ra >= 0) & (s.ra < 360)) and np.all(np.abs(s.dec) <= 90)):
        raise InvalidWatchlist("sources: every ra must be in [0, 360) and every dec in [-90, 90] degrees")
    given = s.radius[~np.isnan(s.radius)]
    if not np.all((given > 0) & (given <= MAX_RADIUS_ARCSEC)):
        raise InvalidWatchlist(f"sources: every radius must be over 0 and at most {MAX_RADIUS_ARCSEC:g} arcsec (or none)")
    if not all(isinstance(n, str) and 0 < len(n) <= MAX_NAME_CHARS and not _CONTROL.search(n) for n in s.names):
        raise InvalidWatchlist(f"sources: every name must be 1 to {MAX_NAME_CHARS} characters without control characters")


def _is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _text(field: str, value: Any, limit: int, required: bool, error: type[ValueError]) -> None:
    if not isinstance(value, str):
        raise error(f"{field} must be text, got {value!r}")
    if required and not value.strip():
        raise error(f"{field} must not be empty")
    if len(value) > limit:
        raise error(f"{field} is {len(value):,} characters; the limit is {limit:,}")
    if _CONTROL.search(value):
        raise error(f"{field} must not hold control characters (newlines, tabs, escapes)")


def encode_sources(sources: Sources) -> bytes:
    """JSON columns; float64 values round-trip exactly, NaN radii become null."""
    columns = {"ra": sources.ra, "dec": sources.dec, "radius": sources.radius, "name": list(sources.names)}
    return orjson.dumps(columns, option=orjson.OPT_SERIALIZE_NUMPY)


def decode_sources(body: bytes) -> Sources:
    data = orjson.loads(body)
    ra, dec, radius = (np.array(data[c], dtype=np.float64) for c in ("ra", "dec", "radius"))
    names = tuple(str(n) for n in data["name"])
    if not len(ra) == len(dec) == len(radius) == len(names):
        raise ValueError("its columns differ in length")
    return Sources(ra, dec, radius, names)


class WatchlistBook(ChunkBook[Sources, Watchlist]):
    """Every complete watchlist on the topic (`items`, by id), and the records that change them.

    Readers `apply` what they read; writers read the topic into a book too, then produce
    `save(...)` or `deletion(id)` (both all-or-nothing from a reader's point of view).
    """

    def decode_body(self, body: bytes) -> Sources:
        return decode_sources(body)

    def make(self, header: dict[str, Any], body: Sources) -> Watchlist:
        if header["n_sources"] != len(body):
            raise ValueError(f"it says {header['n_sources']} sources, its body holds {len(body)}")
        return validate(Watchlist(id=header["id"], owner=header["owner"], name=header["name"], radius=header["radius"],
                                  sources=body, description=header["description"], public=header["public"],
                                  active=header["active"], version=header["version"]))

    def save(self, watchlist: Watchlist) -> list[Record]:
        """Records that store a new or revised watchlist, after checking it (InvalidWatchlist)."""
        validate(watchlist)
        return self.writes(watchlist.fields(), lambda: encode_sources(watchlist.sources))
