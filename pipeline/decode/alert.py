"""The normalised alert: Lasair's shape, independent of the wire format it came in.

Every decoder (wire format, Avro container file, JSON) produces an `Alert`, so features,
filters and payload shaping never see schema-version or container differences.
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

CUTOUT_FIELDS = ("cutoutDifference", "cutoutScience", "cutoutTemplate")
# What a lite record carries of each diaSource and diaForcedSource (Lasair's lite shape).
LITE_SOURCE_FIELDS = ("psfFlux", "psfFluxErr", "midpointMjdTai", "band", "reliability")
LITE_FORCED_FIELDS = ("psfFlux", "psfFluxErr", "midpointMjdTai", "band")
# The diaObject fields context sources read (position, id, detections): `Alert.object_summary`.
SUMMARY_FIELDS = ("diaObjectId", "ra", "dec", "nDiaSources")


@dataclass(slots=True)
class Alert:
    """One Rubin alert in Lasair's shape.

    `diaSourcesList` holds the triggering diaSource and the prvDiaSources, oldest first
    (by midpointMjdTai); `diaForcedSourcesList` the prvDiaForcedSources, oldest first.
    Cutouts are kept apart so that no JSON output can ever carry them.
    """

    diaSourceId: int
    schema_id: int | None
    diaObject: dict[str, Any] | None
    diaSourcesList: list[dict[str, Any]]
    diaForcedSourcesList: list[dict[str, Any]]
    extra: dict[str, Any] = field(default_factory=dict)
    cutouts: dict[str, bytes] = field(default_factory=dict)

    @property
    def diaObjectId(self) -> int | None:
        if self.diaObject is not None:
            return self.diaObject.get("diaObjectId")
        return self.diaSourcesList[-1].get("diaObjectId") if self.diaSourcesList else None

    @property
    def diaSource(self) -> dict[str, Any]:
        """The triggering diaSource (the one whose id the alert carries)."""
        for src in reversed(self.diaSourcesList):
            if src.get("diaSourceId") == self.diaSourceId:
                return src
        return self.diaSourcesList[-1]

    @property
    def object_summary(self) -> dict[str, Any] | None:
        """The diaObject's `SUMMARY_FIELDS` (None without a diaObject): all that cross-matching needs."""
        return None if self.diaObject is None else {k: self.diaObject.get(k) for k in SUMMARY_FIELDS}

    def lite(self) -> dict[str, Any]:
        """Lasair's lite `alert`: the light curve only, a few fields per source."""
        return {
            "diaSourcesList": [{k: s.get(k) for k in LITE_SOURCE_FIELDS} for s in self.diaSourcesList],
            "diaForcedSourcesList": [{k: s.get(k) for k in LITE_FORCED_FIELDS} for s in self.diaForcedSourcesList],
        }

    def to_json_dict(self) -> dict[str, Any]:
        """Lasair's `alert` object: everything but the cutouts."""
        out: dict[str, Any] = {
            "diaSourceId": self.diaSourceId,
            "diaObject": self.diaObject,
            "diaSourcesList": self.diaSourcesList,
            "diaForcedSourcesList": self.diaForcedSourcesList,
        }
        out.update(self.extra)
        return out


def _time_key(record: dict[str, Any]) -> float:
    """Sort key: the time, with null and NaN first (as 0.0). A NaN key would break the sort's
    total order and leave the finite times out of order, which features rely on."""
    t = record.get("midpointMjdTai")
    if not isinstance(t, (int, float)) or (isinstance(t, float) and math.isnan(t)):
        return 0.0
    return t


def _by_time(records: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return sorted(records, key=_time_key)


def normalise(record: dict[str, Any], schema_id: int | None) -> Alert:
    """Turn a decoded Rubin alert record (any schema version) into an `Alert`."""
    sources = list(record.get("prvDiaSources") or [])
    trigger = record.get("diaSource")
    if trigger is not None:
        sources.append(trigger)
    cutouts = {k: record[k] for k in CUTOUT_FIELDS if record.get(k) is not None}
    known = {"diaSourceId", "diaSource", "prvDiaSources", "prvDiaForcedSources", "diaObject", *CUTOUT_FIELDS}
    extra = {k: v for k, v in record.items() if k not in known}
    return Alert(
        diaSourceId=record["diaSourceId"],
        schema_id=schema_id,
        diaObject=record.get("diaObject"),
        diaSourcesList=_by_time(sources),
        diaForcedSourcesList=_by_time(list(record.get("prvDiaForcedSources") or [])),
        extra=extra,
        cutouts=cutouts,
    )
