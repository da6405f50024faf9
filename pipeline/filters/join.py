"""The joined rows of a micro-batch: for each alert, the cross product of its context rows.

A filter reading `FROM objects, T1, T2` sees one row per (alert, row of T1, row of T2) of the
same object, as SQL's inner join on diaObjectId gives. `JoinedRows` holds that product as
index arrays (the alert of each joined row, and for each joined table the row it takes) and
builds the `ColumnBatch` its filters run on: objects columns gathered by alert, context
columns named `qualifier.column` gathered by row. Built once per group of filters joining
the same tables, for the whole group.
"""
from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

import numpy as np

from pipeline.context.batch import BatchContext
from .batch import ColumnBatch
from .sources import TABLE_KINDS

Joins = tuple[tuple[str, str], ...]  # (context table, qualifier)


class JoinedRows:
    """One batch's joined rows for one set of joined tables: `alerts[j]` is joined row j's alert,
    `picks[qualifier][j]` its row in that table's flat list (`BatchContext.flat`)."""

    __slots__ = ("joins", "alerts", "picks", "_context")

    def __init__(self, joins: Joins, context: BatchContext) -> None:
        self.joins = joins
        self._context = context
        n = context.size
        offsets = [context.flat(table)[1] for table, _ in joins]
        counts = [np.diff(o) for o in offsets]
        totals = np.ones(n, dtype=np.int64)
        for c in counts:
            totals *= c
        self.alerts = np.repeat(np.arange(n, dtype=np.int64), totals)
        starts = np.cumsum(totals) - totals
        local = np.arange(len(self.alerts), dtype=np.int64) - starts[self.alerts]
        # Mixed-radix digits of each alert's local index: one digit per joined table.
        self.picks: dict[str, np.ndarray] = {}
        stride = np.ones(n, dtype=np.int64)
        for (_, name), offset, count in reversed(list(zip(joins, offsets, counts))):
            at = self.alerts
            self.picks[name] = offset[at] + (local // stride[at]) % np.maximum(count[at], 1)
            stride = stride * count

    def __len__(self) -> int:
        return len(self.alerts)

    def batch(self, objects: ColumnBatch, columns: Iterable[str],
              tables: dict[str, ColumnBatch] | None = None) -> ColumnBatch:
        """The joined columns `columns` (objects names and `qualifier.column` names).

        `tables` caches each context table's own ColumnBatch across the groups of one batch.
        """
        tables = {} if tables is None else tables
        by_name = {name: table for table, name in self.joins}
        wanted: dict[str, dict[str, str]] = {}
        plain = {}
        for column in columns:
            qualifier, dot, bare = column.partition(".")
            if dot:
                wanted.setdefault(qualifier, {})[bare] = column
            else:
                plain[column] = column
        joined = objects.take(self.alerts, plain)
        for qualifier, names in wanted.items():
            table = by_name[qualifier]
            source = tables.get(table)
            if source is None or not set(names) <= source.columns:
                rows = self._context.flat(table)[0]
                needed = set(names) | (source.columns if source is not None else set())
                source = tables[table] = ColumnBatch.from_rows(rows, needed, TABLE_KINDS[table])
            joined.update(source.take(self.picks[qualifier], names))
        return ColumnBatch.from_columns(len(self), joined)

    def values(self, index: int, columns: Iterable[str]) -> dict[str, Any]:
        """Context values of joined row `index` for `columns` (`qualifier.column` names; absent as None)."""
        out: dict[str, Any] = {}
        by_name = {name: table for table, name in self.joins}
        for column in columns:
            qualifier, _, bare = column.partition(".")
            rows: list[Mapping[str, Any]] = self._context.flat(by_name[qualifier])[0]
            out[column] = rows[int(self.picks[qualifier][index])].get(bare)
        return out
