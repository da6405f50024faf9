"""Who sees and changes watchlists and areas, and which filters may name them."""
from __future__ import annotations

import numpy as np
import pytest
from mocpy import MOC

from pipeline.context.areas import Area
from pipeline.context.watchlist_file import Sources
from pipeline.context.watchlist_record import Watchlist
from pipeline.filters import compile_filter
from pipeline.filters.constants import equality_constants
from pipeline.users.records import User
from pipeline.users.watchlist_views import (
    OPERATOR,
    area_fields,
    can_change,
    can_see,
    operator_viewer,
    refused_references,
    seen,
    watchlist_fields,
)

OWNER, OTHER, ADMIN = User(7, "owner"), User(8, "other"), User(9, "admin", admin=True)
SOURCES = Sources(np.array([10.0, 11.0]), np.array([20.0, -5.0]), np.array([np.nan, 3.0]), ("a", "b"))
PRIVATE = Watchlist(1, "7", "mine", 2.0, SOURCES)
PUBLIC = Watchlist(2, "7", "shared", 2.0, SOURCES, public=True)
AREA = Area(5, "7", "field", MOC.from_string("3/1-5"))


@pytest.mark.parametrize("viewer, sees, changes", [(OWNER, [1, 2], True), (ADMIN, [1, 2], True), (OTHER, [2], False), (None, [2], False)])
def test_owner_and_admins_see_and_change_others_see_public_ones(viewer: User | None, sees: list[int], changes: bool) -> None:
    assert [w.id for w in seen(viewer, [PUBLIC, PRIVATE])] == sees
    assert can_change(viewer, PUBLIC) is changes and can_change(viewer, PRIVATE) is changes
    assert can_see(viewer, PRIVATE) is changes


def test_fields_as_shown() -> None:
    assert watchlist_fields(PRIVATE, sources=True)["sources"] == [{"ra": 10.0, "dec": 20.0, "name": "a", "radius": None},
                                                                  {"ra": 11.0, "dec": -5.0, "name": "b", "radius": 3.0}]
    assert watchlist_fields(PRIVATE)["n_sources"] == 2 and "sources" not in watchlist_fields(PRIVATE)
    assert area_fields(AREA, moc=True)["moc"].strip() == "3/1-5" and area_fields(AREA)["max_order"] == 3


def test_operator_viewer() -> None:
    assert operator_viewer("7") == User(7, "7") and operator_viewer("alice") is None and OPERATOR.admin


SQL = ("SELECT objects.diaObjectId FROM objects, watchlist_hits AS w, area_hits AS a1, area_hits AS a2 "
       "WHERE objects.diaObjectId=w.diaObjectId AND (w.wl_id = 1 OR 2 = w.wl_id OR w.wl_id IN (3, 1)) "
       "AND objects.diaObjectId=a1.diaObjectId AND a1.ar_id=5 AND objects.diaObjectId=a2.diaObjectId AND a2.ar_id=6 AND w.cone_id = 4")


def test_equality_constants_on_a_qualified_column_under_every_alias() -> None:
    compiled = compile_filter(SQL)
    assert equality_constants(compiled, "watchlist_hits", "wl_id") == [1, 2, 3]
    assert equality_constants(compiled, "area_hits", "ar_id") == [5, 6]
    assert equality_constants(compile_filter("SELECT objects.diaObjectId FROM objects WHERE objects.nDiaSources = 3"), "watchlist_hits", "wl_id") == []


def test_refused_references_name_each_missing_or_hidden_record() -> None:
    compiled = compile_filter(SQL)
    watchlists, areas = {1: PRIVATE, 2: PUBLIC}, {5: AREA}
    assert refused_references(compiled, OTHER, watchlists, areas) == [
        "watchlist 1 is another user's and not public (watchlist_hits.wl_id = 1)",
        "watchlist 3 does not exist (watchlist_hits.wl_id = 3)",
        "area 5 is another user's and not public (area_hits.ar_id = 5)",
        "area 6 does not exist (area_hits.ar_id = 6)",
    ]
    assert refused_references(compiled, OWNER, watchlists, areas, everyone={3}) == ["area 6 does not exist (area_hits.ar_id = 6)"]
