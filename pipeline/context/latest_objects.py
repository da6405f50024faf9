"""The latest `objects` row per object, for filters run when an annotation arrives.

An annotation-triggered filter joins the annotation with the object's `objects` row as of its
last alert, so the worker keeps that row for recently seen objects: a least-recently-used map
bounded by a count. An annotation for an object not held (never seen by this worker, or evicted)
runs no filter; the caller counts those.

Memory: a row is held as a tuple of its values beside one shared tuple of column names (a
65-key dict per object took 3.5 KB, 2.3 times as much). STATE_BYTES_PER_ROW is measured with
tracemalloc on rows computed from synthetic alerts (tests/pipeline/context/test_latest_objects.py
checks it): 100,000 objects take about 160 MB. `get` returns a new dict each time.
"""
from __future__ import annotations

from collections import OrderedDict
from typing import Any

STATE_BYTES_PER_ROW = 1_600  # per object with the 65 objects columns: 1.5-1.57 KB measured (test_latest_objects.py)


class LatestObjects:
    def __init__(self, max_rows: int) -> None:
        if max_rows < 1:
            raise ValueError(f"max_rows must be at least 1, got {max_rows}")
        self.max_rows = max_rows
        self._rows: OrderedDict[int, tuple[tuple[str, ...], tuple[Any, ...]]] = OrderedDict()
        self._columns: tuple[str, ...] = ()
        self.evicted = 0

    def __len__(self) -> int:
        return len(self._rows)

    def put(self, row: dict[str, Any]) -> None:
        """Hold `row` as its object's latest, evicting the least recently used object beyond the bound."""
        object_id = int(row["diaObjectId"])
        columns = tuple(row)
        if columns != self._columns:
            self._columns = columns  # rows of one worker share their columns: one tuple for all
        self._rows[object_id] = (self._columns, tuple(row.values()))
        self._rows.move_to_end(object_id)
        if len(self._rows) > self.max_rows:
            self._rows.popitem(last=False)
            self.evicted += 1

    def get(self, object_id: int) -> dict[str, Any] | None:
        """The object's latest row, or None if not held; a hit counts as a use."""
        held = self._rows.get(object_id)
        if held is None:
            return None
        self._rows.move_to_end(object_id)
        return dict(zip(*held))
