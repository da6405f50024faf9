"""BatchContext: a micro-batch's context rows, per table and alert, as the joins read them."""
from __future__ import annotations

import pytest

from pipeline.context.batch import BatchContext


def test_rows_per_alert_and_the_flat_view_the_joins_read() -> None:
    a, b, c = {"diaObjectId": 1, "z": 0.1}, {"diaObjectId": 1, "z": 0.2}, {"diaObjectId": 3}
    context = BatchContext(3, {"sherlock_classifications": [[a, b], [], [c]]})
    assert context.present == {"sherlock_classifications"}
    assert list(context.rows("sherlock_classifications", 0)) == [a, b]
    assert list(context.rows("crossmatch_tns", 0)) == []  # no source: no rows
    rows, offsets = context.flat("sherlock_classifications")
    assert rows == [a, b, c] and offsets.tolist() == [0, 2, 2, 3]
    rows, offsets = context.flat("area_hits")
    assert rows == [] and offsets.tolist() == [0, 0, 0, 0]
    assert BatchContext.empty(2).present == frozenset()


@pytest.mark.parametrize("tables, message", [
    ({"sherlock": [[], []]}, "unknown context table 'sherlock'"),
    ({"crossmatch_tns": [[]]}, "context table crossmatch_tns: 1 lists of rows for 2 alerts"),
])
def test_misaligned_or_unknown_tables_are_refused(tables: dict, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        BatchContext(2, tables)
