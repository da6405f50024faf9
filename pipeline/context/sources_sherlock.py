"""The `sherlock_classifications` context source: the built-in classifier and an external Sherlock's rows.

Each micro-batch's objects are classified in one call (the classifier is only cheap batched; it
caches per object, so an object already seen costs a dictionary look-up). A row an external
classifier published (its compacted topic, read into `ExternalRows`) wins over the built-in one.
The chosen row also completes `objects.absMag`/`absMagMJD` from the host distance, corrected with
the objects row's `ebv` when it has one.
"""
from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from pipeline.features.ingest import Ingested
from .absmag import abs_mag, applies
from .sherlock import ContextClassifier, object_position
from .sherlock_external import ExternalRows
from .stage import Rows
from .tables import SHERLOCK_CLASSIFICATIONS


class SherlockSource:
    """Fills sherlock_classifications (one row per object, or none) and objects.absMag/absMagMJD."""

    name = "sherlock"
    tables = (SHERLOCK_CLASSIFICATIONS.name,)

    def __init__(self, classifier: ContextClassifier | None, external: ExternalRows) -> None:
        self.classifier = classifier  # None: no catalogue configured, only external rows
        self.external = external

    def lookup(self, items: Sequence[Ingested]) -> Mapping[str, Rows]:
        builtin: dict[int, dict[str, Any] | None] = {}
        if self.classifier is not None:
            positions = [p for p in (object_position(item.alert.object_summary) for item in items) if p is not None]
            builtin = self.classifier.classify(positions)
        per_alert: Rows = []
        for item in items:
            object_id = item.alert.diaObjectId
            row = self.external.choose(object_id, builtin.get(object_id)) if object_id is not None else None
            per_alert.append([row] if row is not None else [])
            if item.row is not None and applies(row):  # the light curve is read only then
                item.row["absMag"], item.row["absMagMJD"] = abs_mag(item.alert.lite()["diaSourcesList"], row, item.row.get("ebv"))
        return {SHERLOCK_CLASSIFICATIONS.name: per_alert}
