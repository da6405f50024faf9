"""From message bytes to what filters need: the normalised alert and its `objects` row.

A bug in feature code must not stop the stream either: it surfaces as a `DecodeError` with its
own reason, so the message is dead-lettered with the traceback's last line and work goes on.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from pipeline.decode.alert import Alert
from pipeline.decode.on_demand import OnDemandAlert
from pipeline.decode.wire import DecodeError, SchemaLookup, decode_message
from .objects import objects_row
from .objects_ext import objects_ext_values


@dataclass(slots=True)
class Ingested:
    """A decoded alert and its `objects` row; row None for an alert without a diaObject (a
    solar-system source), which Lasair gives no row, so it matches no filter (the fan-out skips it).
    The worker's alerts are `OnDemandAlert`s (micro_batch.py): same questions, same answers."""

    alert: Alert | OnDemandAlert
    row: dict[str, Any] | None


def with_features(alert: Alert) -> Ingested:
    try:
        row = objects_row(alert)  # None for an alert without a diaObject: Lasair has no objects row for it
        return Ingested(alert, None if row is None else row | objects_ext_values(alert.diaObject))
    except Exception as exc:  # noqa: BLE001 - any feature bug becomes a dead letter, not a crash
        raise DecodeError("features-error", f"features failed for diaSourceId {alert.diaSourceId}: {type(exc).__name__}: {exc}") from exc


def ingest(message: bytes, schemas: SchemaLookup) -> Ingested:
    return with_features(decode_message(message, schemas))
