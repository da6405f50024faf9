"""Annotations as context: the annotations table per alert, and what an arriving annotation runs.

On each alert, `AnnotationsSource` gives the object's latest annotations (one row per annotator
topic) from the worker's `AnnotationBook`. When an annotation arrives, `annotation_run` gives the
one item and the context to evaluate: the object's latest `objects` row (from `LatestObjects`; an
object the worker does not hold runs nothing), the other context tables as for an alert, and the
annotations table holding only the arriving annotation, so that a filter fires for the annotation
that arrived, not again for the object's older ones. `AnnotationFilters` restricts such a run to
the active filters that join annotations.

The worker keeps no alerts (about 170 kB each decoded), so the item's alert is a stub built from the
row: its key and headers are the latest alert's (diaObjectId, diaSourceId, schema id), and the
`alert` part of a lite or full record has empty source lists and a diaObject holding only the id.
"""
from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from pipeline.decode.alert import Alert
from pipeline.features.ingest import Ingested
from pipeline.filters import FilterSet
from pipeline.streams.filter_registry import ActiveFilter, FilterRegistry
from .annotations import Annotation, AnnotationBook
from .batch import BatchContext
from .latest_objects import LatestObjects
from .stage import ContextStage
from .tables import ANNOTATIONS

# Beside the objects columns, the latest row keeps its alert's ids (for the records' key and headers).
SOURCE_ID_KEY = "_alert_diaSourceId"
SCHEMA_ID_KEY = "_alert_schema_id"


class AnnotationsSource:
    """The annotations table: per alert, its object's latest annotation under each topic."""

    name = "annotations"
    tables = (ANNOTATIONS.name,)

    def __init__(self, book: AnnotationBook) -> None:
        self.book = book

    def lookup(self, items: Sequence[Ingested]) -> Mapping[str, list[list[Mapping[str, Any]]]]:
        return {ANNOTATIONS.name: [self.book.rows_for(int(item.row["diaObjectId"])) for item in items]}


def remember(latest: LatestObjects, items: Sequence[Ingested]) -> None:
    """Keep each processed alert's objects row (with its alert's ids) as its object's latest."""
    for item in items:
        if item.row.get("diaObjectId") is not None:
            latest.put({**item.row, SOURCE_ID_KEY: item.alert.diaSourceId, SCHEMA_ID_KEY: item.alert.schema_id})


def annotation_run(annotation: Annotation, latest: LatestObjects, stage: ContextStage) -> tuple[Ingested, BatchContext] | None:
    """The item and context an arriving annotation is evaluated on; None if the object's row is not held."""
    row = latest.get(annotation.diaObjectId)
    if row is None:
        return None
    alert = Alert(diaSourceId=row.pop(SOURCE_ID_KEY), schema_id=row.pop(SCHEMA_ID_KEY),
                  diaObject={"diaObjectId": annotation.diaObjectId}, diaSourcesList=[], diaForcedSourcesList=[])
    item = Ingested(alert, row)
    context = stage.lookup([item])
    tables = {name: [list(context.rows(name, 0))] for name in context.present}
    tables[ANNOTATIONS.name] = [[annotation.row()]]
    return item, BatchContext(1, tables)


class AnnotationFilters:
    """The registry seen by an annotation-triggered run: only the active filters that join annotations."""

    def __init__(self, registry: FilterRegistry) -> None:
        self.registry = registry
        self._built_from: FilterSet[str] | None = None
        self._set: FilterSet[str] | None = None

    def active(self) -> dict[str, ActiveFilter]:
        return {fid: f for fid, f in self.registry.active().items()
                if any(table == ANNOTATIONS.name for table, _ in f.compiled.joins)}

    def filter_set(self) -> FilterSet[str]:
        current = self.registry.filter_set()  # rebuilt by the registry on every change: rebuild ours then
        if self._set is None or self._built_from is not current:
            self._built_from = current
            self._set = FilterSet({fid: f.compiled for fid, f in self.active().items()})
        return self._set
