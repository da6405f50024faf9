"""The TNS context source: `crossmatch_tns`, the TNS hits in `watchlist_hits`, and `objects.tns_name`.

Objects are matched by their diaObject's mean position against the TNS set (read from its
compacted topic), within the radius setting; the hits are joined through `watchlist_hits` with
the TNS watchlist id, as Lasair's builder writes the `crossmatch_tns` token.
"""
from __future__ import annotations

import math
from collections.abc import Mapping, Sequence

from pipeline.features.ingest import Ingested
from .stage import Rows
from .tables import CROSSMATCH_TNS, WATCHLIST_HITS
from .tns import TNS_MATCH_ARCSEC, TnsSet


class TnsSource:
    name = "tns"
    tables = (CROSSMATCH_TNS.name, WATCHLIST_HITS.name)

    def __init__(self, tns: TnsSet, watchlist_id: int, radius_arcsec: float = TNS_MATCH_ARCSEC) -> None:
        self.tns = tns
        self.watchlist_id = watchlist_id
        self.radius_arcsec = radius_arcsec

    def lookup(self, items: Sequence[Ingested]) -> Mapping[str, Rows]:
        ids, ra, dec = [], [], []
        for item in items:
            obj = item.alert.object_summary or {}
            if obj.get("diaObjectId") is not None and _finite(obj.get("ra")) and _finite(obj.get("dec")):
                ids.append(int(obj["diaObjectId"]))
                ra.append(float(obj["ra"]))
                dec.append(float(obj["dec"]))
        found = self.tns.match(ids, ra, dec, self.watchlist_id, self.radius_arcsec)
        crossmatch: Rows = []
        hits: Rows = []
        for item in items:
            object_id = item.alert.diaObjectId
            crossmatch.append(found.crossmatch_tns.get(object_id, []))
            hits.append(found.watchlist_hits.get(object_id, []))
            name = found.tns_name.get(object_id)
            if name is not None and item.row is not None:
                item.row["tns_name"] = name
        return {CROSSMATCH_TNS.name: crossmatch, WATCHLIST_HITS.name: hits}


def _finite(value: object) -> bool:
    return isinstance(value, (int, float)) and math.isfinite(value)
