"""The JSON records a filter's topic carries, in Lasair's three shapes (plain, lite, full).

The `alert` part of a lite or full record is the same for every filter that matched the alert,
so it is serialised once per alert and spliced into each filter's record as bytes.
"""
from __future__ import annotations

import datetime as dt
from typing import Any

import orjson

from pipeline.decode.alert import Alert

FILTER_ID = "alertflow-filter-id"
FILTER_VERSION = "alertflow-filter-version"
DIA_SOURCE_ID = "alertflow-diaSourceId"
SCHEMA_ID = "alertflow-schema-id"


def utc_stamp(now: dt.datetime | None = None) -> str:
    return (now or dt.datetime.now(dt.timezone.utc)).strftime("%Y-%m-%d %H:%M:%S")


def lite_alert(alert: Alert) -> dict[str, Any]:
    return alert.lite()  # an alert decoded into columns builds it from them, without decoding the rest


def full_alert(alert: Alert) -> dict[str, Any]:
    return {
        "diaObject": alert.diaObject,
        "diaSourcesList": alert.diaSourcesList,
        "diaForcedSourcesList": alert.diaForcedSourcesList,
    }


ALERT_PARTS = {"lite": lite_alert, "full": full_alert}


class AlertJson:
    """Per alert: the serialised `alert` part of each mode, built on first use only."""

    __slots__ = ("alert", "_parts")

    def __init__(self, alert: Alert):
        self.alert = alert
        self._parts: dict[str, bytes] = {}

    def part(self, mode: str) -> bytes:
        if mode not in self._parts:
            self._parts[mode] = orjson.dumps(ALERT_PARTS[mode](self.alert))
        return self._parts[mode]


def record_value(fields: dict[str, Any], mode: str, alert_json: AlertJson, utc: str) -> bytes:
    """`{selected fields..., "UTC": ..., "alert": ...}` as bytes."""
    plain = orjson.dumps({**fields, "UTC": utc})
    if mode == "plain":
        return plain
    return plain[:-1] + b',"alert":' + alert_json.part(mode) + b"}"


def record_key(alert: Alert) -> bytes:
    return str(alert.diaObjectId).encode()


def record_headers(filter_id: str, version: int, alert: Alert) -> list[tuple[str, bytes]]:
    return [
        (FILTER_ID, filter_id.encode()),
        (FILTER_VERSION, str(version).encode()),
        (DIA_SOURCE_ID, str(alert.diaSourceId).encode()),
        (SCHEMA_ID, str(alert.schema_id).encode()),
    ]
