"""The latest objects row per object that annotation-triggered filters join: LRU by count, memory as stated."""
from __future__ import annotations

import tracemalloc

import orjson
import pytest

from pipeline.context.latest_objects import STATE_BYTES_PER_ROW, LatestObjects
from pipeline.decode.alert import normalise
from pipeline.features.objects import objects_row
from pipeline.synthetic.alerts import synthetic_alerts
from pipeline.synthetic.cadence import SCHEMA_ID


def test_latest_row_wins_and_least_recently_used_goes_first() -> None:
    store = LatestObjects(max_rows=2)
    store.put({"diaObjectId": 1, "ncand": 1})
    store.put({"diaObjectId": 2, "ncand": 1})
    store.put({"diaObjectId": 1, "ncand": 2})  # a newer alert of object 1
    assert store.get(1) == {"diaObjectId": 1, "ncand": 2}
    assert store.get(2) == {"diaObjectId": 2, "ncand": 1}  # now 1 is the least recently used
    store.put({"diaObjectId": 3, "ncand": 1})
    assert store.get(1) is None and store.get(2) is not None and store.get(3) is not None
    assert len(store) == 2 and store.evicted == 1


def test_rows_with_other_columns_keep_their_own() -> None:
    store = LatestObjects(max_rows=10)
    store.put({"diaObjectId": 1, "a": 1.0})
    store.put({"diaObjectId": 2, "b": None, "c": "x"})
    assert store.get(1) == {"diaObjectId": 1, "a": 1.0}
    assert store.get(2) == {"diaObjectId": 2, "b": None, "c": "x"}
    row = store.get(1)
    assert row is not None
    row["a"] = 99.0  # a caller's change does not reach the store
    assert store.get(1) == {"diaObjectId": 1, "a": 1.0}


def test_a_bound_below_one_is_refused() -> None:
    with pytest.raises(ValueError, match="max_rows must be at least 1, got 0"):
        LatestObjects(0)


def test_stated_memory_per_row_holds_for_synthetic_objects_rows() -> None:
    rows = [objects_row(normalise(alert, SCHEMA_ID)) for alert in synthetic_alerts(1000, seed=5)]
    encoded = [orjson.dumps({**row, "diaObjectId": i}) for i, row in enumerate(rows)]  # each row's values fresh, as a new alert's
    del rows
    store = LatestObjects(max_rows=len(encoded))
    tracemalloc.start()
    try:
        before = tracemalloc.get_traced_memory()[0]
        for data in encoded:
            store.put(orjson.loads(data))
        used = tracemalloc.get_traced_memory()[0] - before
    finally:
        tracemalloc.stop()
    assert len(store) == len(encoded)
    assert used / len(store) <= STATE_BYTES_PER_ROW
