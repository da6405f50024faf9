"""Context sources for users' watchlists (`watchlist_hits`) and areas (`area_hits`).

Each source holds a ready index and asks it once per micro-batch, vectorised over the batch's
object positions. Building an index over a million sources takes seconds, so a source never
builds one: the worker builds the next index off the batch path and `swap`s it in between two
batches (a lookup reads `index` once, so a batch sees one index whole).
"""
from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, Protocol

import numpy as np

from pipeline.features.ingest import Ingested
from .areas import AreaIndex
from .stage import Rows
from .watchlist_index import WatchlistIndex


class _Index(Protocol):
    def match(self, object_ids: np.ndarray, ra: np.ndarray, dec: np.ndarray) -> list[dict[str, Any]]: ...


def positions(items: Sequence[Ingested]) -> tuple[np.ndarray, np.ndarray]:
    """The objects' (ra, decl) in degrees, NaN where the object has none (no hits there)."""
    ra = np.array([_degrees(item.row.get("ra")) for item in items], dtype=np.float64)
    dec = np.array([_degrees(item.row.get("decl")) for item in items], dtype=np.float64)
    return ra, dec


def _degrees(value: Any) -> float:
    return float(value) if value is not None else np.nan


def rows_per_alert(index: _Index, items: Sequence[Ingested]) -> Rows:
    """Each alert's rows from `index`: matched by position in the batch (two alerts of one object may
    carry different positions), each row then given its object's id."""
    ra, dec = positions(items)
    per_alert: Rows = [[] for _ in items]
    for row in index.match(np.arange(len(items)), ra, dec):
        at = row["diaObjectId"]
        per_alert[at].append({**row, "diaObjectId": items[at].row.get("diaObjectId")})
    return per_alert


class _IndexSource:
    """One context table's rows from an index over a book, swapped in whole when the book changes."""

    name: str
    tables: tuple[str, ...]

    def __init__(self, index: WatchlistIndex | AreaIndex) -> None:
        self.index = index

    def swap(self, index: WatchlistIndex | AreaIndex) -> None:
        self.index = index

    def lookup(self, items: Sequence[Ingested]) -> Mapping[str, Rows]:
        return {self.tables[0]: rows_per_alert(self.index, items)}


class WatchlistSource(_IndexSource):
    """`watchlist_hits` rows from every active watchlist."""

    name = "watchlists"
    tables = ("watchlist_hits",)

    def __init__(self, index: WatchlistIndex | None = None) -> None:
        super().__init__(index if index is not None else WatchlistIndex(()))


class AreaSource(_IndexSource):
    """`area_hits` rows from every active area (mocpy containment)."""

    name = "areas"
    tables = ("area_hits",)

    def __init__(self, index: AreaIndex | None = None) -> None:
        super().__init__(index if index is not None else AreaIndex(()))
