"""The context stage of a micro-batch: every context source the worker holds, asked once per batch.

A source fills one or more context tables (per alert, the rows of that alert's object) and may
also complete the batch's `objects` rows with what it knows (e.g. `tns_name`, `absMag`). Two
sources may fill the same table (TNS hits and users' watchlists both give `watchlist_hits`): their
rows are concatenated. The stage times each source, so `bench` and `/stats` can show what
context costs per alert.
"""
from __future__ import annotations

import time
from collections.abc import Mapping, Sequence
from typing import Any, Protocol

from pipeline.features.ingest import Ingested
from .batch import BatchContext

Rows = list[list[Mapping[str, Any]]]


class ContextSource(Protocol):
    name: str
    tables: tuple[str, ...]  # the context tables it fills

    def lookup(self, items: Sequence[Ingested]) -> Mapping[str, Rows]:
        """Per table it fills: for each item, its object's rows; may also complete `item.row`."""
        ...


class ContextStage:
    """The sources of one worker, in the order they run (a later one may read what an earlier one set)."""

    def __init__(self, sources: Sequence[ContextSource] = ()) -> None:
        self.sources: list[ContextSource] = list(sources)
        self.seconds: dict[str, float] = {}  # per source: time spent in lookups so far
        self.alerts = 0

    @property
    def tables(self) -> frozenset[str]:
        """The tables some source fills: filters may join these (the others are refused at save time)."""
        return frozenset(t for source in self.sources for t in source.tables)

    def lookup(self, items: Sequence[Ingested]) -> BatchContext:
        """The batch's context; an alert without an objects row (no diaObject) gets no rows."""
        present = [i for i, item in enumerate(items) if item.row is not None]
        asked = [items[i] for i in present]
        tables: dict[str, Rows] = {}
        for source in self.sources:
            started = time.perf_counter()
            for name, per_alert in source.lookup(asked).items():
                if name in tables:
                    tables[name] = [a + list(b) for a, b in zip(tables[name], per_alert)]
                else:
                    tables[name] = [list(rows) for rows in per_alert]
            self.seconds[source.name] = self.seconds.get(source.name, 0.0) + time.perf_counter() - started
        self.alerts += len(items)
        if len(present) < len(items):
            for name, per_alert in tables.items():
                full: Rows = [[] for _ in items]
                for i, rows in zip(present, per_alert):
                    full[i] = rows
                tables[name] = full
        return BatchContext(len(items), tables)

    def cost_per_alert(self) -> dict[str, float]:
        """Seconds per alert of each source so far."""
        return {name: s / self.alerts for name, s in self.seconds.items()} if self.alerts else {}
