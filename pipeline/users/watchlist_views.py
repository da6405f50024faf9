"""Watchlists and areas as their owners and others see them, and the filters that may name them.

Visibility is `ownership`'s, as for filters: the owner and admins see and change everything;
others see public watchlists and areas (sources and MOC included: Lasair shows them) and change
nothing. A filter may join only watchlists and areas that exist and that its owner may see.
"""
from __future__ import annotations

from collections.abc import Collection, Iterable, Mapping
from dataclasses import dataclass
from typing import Any, TypeVar

from pipeline.context.areas import Area
from pipeline.context.watchlist_record import Watchlist
from pipeline.filters.compiled import CompiledFilter
from pipeline.filters.constants import equality_constants
from .ownership import may_change, may_see
from .records import User

R = TypeVar("R", Watchlist, Area)
OPERATOR = User(id=0, name="operator", admin=True)  # whoever runs the command line (it sees and changes everything)


@dataclass(frozen=True)
class _Owned:
    """A watchlist or area as `ownership` knows owned records (`user`, `public`)."""

    user: str
    public: bool


def _owned(record: Watchlist | Area) -> _Owned:
    return _Owned(record.owner, record.public)


def can_see(viewer: User | None, record: Watchlist | Area) -> bool:
    return may_see(viewer, _owned(record))


def can_change(viewer: User | None, record: Watchlist | Area) -> bool:
    return may_change(viewer, _owned(record))


def seen(viewer: User | None, records: Iterable[R]) -> list[R]:
    """The records `viewer` may see, by id."""
    return sorted((r for r in records if can_see(viewer, r)), key=lambda r: r.id)


def watchlist_fields(watchlist: Watchlist, sources: bool = False) -> dict[str, Any]:
    """Its settings; with `sources`, each source's ra, dec, name and radius (None: the default)."""
    fields: dict[str, Any] = watchlist.fields()
    if sources:
        s = watchlist.sources
        fields["sources"] = [{"ra": ra, "dec": dec, "name": name, "radius": None if radius != radius else radius}
                             for ra, dec, name, radius in zip(s.ra.tolist(), s.dec.tolist(), s.names, s.radius.tolist())]
    return fields


def area_fields(area: Area, moc: bool = False) -> dict[str, Any]:
    """Its settings and sky fraction; with `moc`, the MOC in ASCII form."""
    fields: dict[str, Any] = {**area.fields(), "max_order": int(area.moc.max_order), "sky_fraction": float(area.moc.sky_fraction)}
    if moc:
        fields["moc"] = area.moc.to_string(format="ascii")
    return fields


def operator_viewer(user_id: str) -> User | None:
    """The viewer the command line acts for with `--user U` (not an admin: the users' book is not read)."""
    return User(id=int(user_id), name=str(user_id)) if str(user_id).isdigit() else None


def refused_references(compiled: CompiledFilter, viewer: User | None, watchlists: Mapping[int, Watchlist],
                       areas: Mapping[int, Area], everyone: Collection[int] = ()) -> list[str]:
    """Why the filter may not be saved by `viewer`: each watchlist or area id it names that does not
    exist or that `viewer` may not see, one line each (none: it may). `everyone`: watchlist ids any
    filter may name without a stored watchlist (the TNS one)."""
    problems = []
    for kind, table, column, records in (("watchlist", "watchlist_hits", "wl_id", watchlists), ("area", "area_hits", "ar_id", areas)):
        for record_id in equality_constants(compiled, table, column):
            record = records.get(record_id)
            if record is None and not (kind == "watchlist" and record_id in everyone):
                problems.append(f"{kind} {record_id} does not exist ({table}.{column} = {record_id})")
            elif record is not None and not can_see(viewer, record):
                problems.append(f"{kind} {record_id} is another user's and not public ({table}.{column} = {record_id})")
    return problems
