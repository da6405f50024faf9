"""The context rows of one micro-batch, as the filters join them.

For each context table, the rows each alert's object has in it: a list per alert, aligned
with the batch's alerts (an empty list: no row, so a filter joining that table gives no
result row for that alert). The worker fills one from its context sources; a table it has
no source for is simply absent, which reads as no rows for every alert.
"""
from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from .tables import CONTEXT_TABLES

Row = Mapping[str, Any]


class BatchContext:
    """Per table, per alert, that alert's object's rows."""

    __slots__ = ("size", "_tables", "_flat")

    def __init__(self, size: int, tables: Mapping[str, Sequence[Sequence[Row]]] | None = None) -> None:
        self.size = size
        self._tables: dict[str, Sequence[Sequence[Row]]] = {}
        for name, per_alert in (tables or {}).items():
            if name not in CONTEXT_TABLES:
                raise ValueError(f"unknown context table {name!r}; known: {', '.join(CONTEXT_TABLES)}")
            if len(per_alert) != size:
                raise ValueError(f"context table {name}: {len(per_alert)} lists of rows for {size} alerts")
            self._tables[name] = per_alert
        self._flat: dict[str, tuple[list[Row], np.ndarray]] = {}

    @classmethod
    def empty(cls, size: int) -> BatchContext:
        """No context at all (a dry run): filters that join a table match nothing."""
        return cls(size)

    def take(self, alerts: Sequence[int]) -> BatchContext:
        """The context of some of the batch's alerts, in the order given."""
        return BatchContext(len(alerts), {name: [per_alert[i] for i in alerts] for name, per_alert in self._tables.items()})

    @property
    def present(self) -> frozenset[str]:
        """The tables this batch has rows (possibly none) for: the sources that were there."""
        return frozenset(self._tables)

    def rows(self, table: str, alert: int) -> Sequence[Row]:
        per_alert = self._tables.get(table)
        return per_alert[alert] if per_alert is not None else ()

    def flat(self, table: str) -> tuple[list[Row], np.ndarray]:
        """Every row of `table` in alert order, and `size + 1` offsets: alert i owns rows
        offsets[i]:offsets[i+1]. Computed once per batch, shared by every join of it."""
        if table not in self._flat:
            per_alert = self._tables.get(table)
            if per_alert is None:
                self._flat[table] = ([], np.zeros(self.size + 1, dtype=np.int64))
            else:
                counts = np.fromiter(map(len, per_alert), dtype=np.int64, count=self.size)
                offsets = np.zeros(self.size + 1, dtype=np.int64)
                np.cumsum(counts, out=offsets[1:])
                self._flat[table] = ([row for rows in per_alert for row in rows], offsets)
        return self._flat[table]
