"""The Transient Name Server's public objects, as Lasair's `crossmatch_tns` rows, matched to objects by position.

TNS publishes its objects as CSV (`tns_public_objects.csv`, plus daily and hourly files of the
same layout): a first line holding the file's creation date, then a quoted header and one row
per object. Columns are found by header name, so files with or without the ADS bibcode columns
read the same. Values are mapped and cut as Lasair's `poll_tns.py` does. The set lives in a
compacted topic keyed by tns_name (value: the row's JSON plus TNS's `objid`, which names the
object's cone in `watchlist_hits`); `records_*` give what to publish, `apply` reads it back.
"""
from __future__ import annotations

import csv
import io
import logging
import zipfile
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import orjson

from pipeline.features.htm import htm_id
from .errors import TnsError
from .sky_index import SkyIndex, separation_arcsec, unit_vectors
from .tables import CROSSMATCH_TNS

log = logging.getLogger(__name__)

TNS_MATCH_ARCSEC = 3.0  # Lasair's poll_tns default radius
ROW_COLUMNS = tuple(c for c in CROSSMATCH_TNS.column_names if c != "diaObjectId")
CSV_COLUMNS = ("objid", "name_prefix", "name", "ra", "declination", "redshift", "type", "reporting_group", "source_group",
               "discoverydate", "discoverymag", "filter", "reporters", "internal_names", "lastmodified")


def _ascii(text: str) -> str:
    return text.encode("ascii", "replace").decode("ascii")


def _number(text: str) -> float | None:
    return float(text) if text.strip() else None


def tns_row(csv_row: dict[str, str], modified: str | None) -> dict[str, Any]:
    """One CSV row as a crossmatch_tns row (plus objid), with Lasair's cuts."""
    internal, reporters, group = csv_row["internal_names"], csv_row["reporters"], csv_row["reporting_group"]
    if len(internal) > 75:
        internal = _ascii(internal[:75].replace("'", "") + "...")
    reporters = _ascii(reporters).replace("'", "")
    ra, dec = float(csv_row["ra"]), float(csv_row["declination"])
    row: dict[str, Any] = dict.fromkeys(ROW_COLUMNS)
    row.update(
        ra=ra, decl=dec, tns_name=csv_row["name"], tns_prefix=csv_row["name_prefix"],
        disc_mag=_number(csv_row["discoverymag"]), disc_mag_filter=csv_row["filter"], type=csv_row["type"],
        z=_number(csv_row["redshift"]), disc_int_name=internal, disc_date=csv_row["discoverydate"],
        lastmodified_date=csv_row["lastmodified"], sender=group[:12] + "..." if len(group) > 12 else group,
        reporters=reporters[:75] + "..." if len(reporters) > 75 else reporters, source_group=csv_row["source_group"][:16],
        htm16=htm_id(ra, dec, 16), lasairmodified_date=modified,
    )
    row["objid"] = int(csv_row["objid"])
    return row


def parse_tns_csv(text: str, source: str, modified: str | None = None) -> list[dict[str, Any]]:
    """Rows of a TNS objects CSV (creation-date line optional); TnsError on the first bad line."""
    lines = list(csv.reader(io.StringIO(text)))
    start = 1 if lines and "name" not in lines[0] else 0
    if len(lines) <= start:
        raise TnsError(f"{source}: no header line: expected TNS's public objects CSV")
    header = [h.strip() for h in lines[start]]
    missing = [c for c in CSV_COLUMNS if c not in header]
    if missing:
        raise TnsError(f"{source}: line {start + 1}: not TNS's objects layout, missing column(s) {', '.join(missing)}")
    rows = []
    for n, values in enumerate(lines[start + 1:], start=start + 2):
        if not values:
            continue
        if len(values) != len(header):
            raise TnsError(f"{source}: line {n}: {len(values)} values, the header has {len(header)}")
        record = dict(zip(header, values))
        for column, low, high in (("ra", 0.0, 360.0), ("declination", -90.0, 90.0), ("discoverymag", None, None), ("redshift", None, None), ("objid", None, None)):
            try:
                value = _number(record[column])
            except ValueError:
                raise TnsError(f"{source}: line {n}, column {column!r}: {record[column]!r} is not a number") from None
            if low is not None and (value is None or not low <= value <= high):
                raise TnsError(f"{source}: line {n}, column {column!r}: {record[column]!r} is not within {low:g} to {high:g}")
        if not record["name"].strip() or not record["objid"].strip():
            raise TnsError(f"{source}: line {n}: empty name or objid")
        rows.append(tns_row(record, modified))
    return rows


def read_tns_file(path: str | Path, modified: str | None = None) -> list[dict[str, Any]]:
    """A TNS objects file as downloaded: .csv, or the .csv.zip TNS serves."""
    path = Path(path)
    try:
        if path.suffix.lower() == ".zip":
            with zipfile.ZipFile(path) as z:
                names = [n for n in z.namelist() if n.lower().endswith(".csv")]
                if len(names) != 1:
                    raise TnsError(f"{path}: expected one .csv inside the zip, found {len(names)}")
                data = z.read(names[0])
        else:
            data = path.read_bytes()
    except OSError as exc:
        raise TnsError(f"{path}: cannot read: {exc.strerror or exc}") from None
    except zipfile.BadZipFile as exc:
        raise TnsError(f"{path}: not a zip file ({exc})") from None
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise TnsError(f"{path}: not UTF-8 text ({exc.reason} at byte {exc.start})") from None
    return parse_tns_csv(text, str(path), modified)


Record = tuple[bytes, bytes | None]


@dataclass
class TnsMatches:
    """A micro-batch's TNS context, by diaObjectId: crossmatch_tns rows, watchlist_hits rows, objects.tns_name."""

    crossmatch_tns: dict[int, list[dict[str, Any]]] = field(default_factory=dict)
    watchlist_hits: dict[int, list[dict[str, Any]]] = field(default_factory=dict)
    tns_name: dict[int, str] = field(default_factory=dict)


class TnsSet:
    """The TNS objects by tns_name, with a position index rebuilt on first use after a change."""

    def __init__(self) -> None:
        self.rows: dict[str, dict[str, Any]] = {}
        self._index: tuple[SkyIndex, list[dict[str, Any]]] | None = None

    def __len__(self) -> int:
        return len(self.rows)

    def load_full(self, rows: Iterable[dict[str, Any]]) -> list[Record]:
        """Replace the set; the records to publish: every row, and tombstones for names no longer present."""
        new = {r["tns_name"]: r for r in rows}
        gone = [name for name in self.rows if name not in new]
        self.rows, self._index = new, None
        return [encode(r) for r in new.values()] + [(name.encode(), None) for name in gone]

    def update(self, rows: Iterable[dict[str, Any]]) -> list[Record]:
        """Upsert an incremental file: a new name, or a row modified later than the one held; the records to publish."""
        changed = []
        for row in rows:
            held = self.rows.get(row["tns_name"])
            if held is None or (row["lastmodified_date"] or "") > (held["lastmodified_date"] or ""):
                self.rows[row["tns_name"]] = row
                changed.append(encode(row))
        if changed:
            self._index = None
        return changed

    def records(self) -> list[Record]:
        return [encode(r) for r in self.rows.values()]

    def apply(self, key: bytes | None, value: bytes | None) -> None:
        """One record read back from the compacted topic: a row, or a tombstone removing a name."""
        if key is None:
            return
        if value:
            try:
                row = orjson.loads(value)
                float(row["ra"]), float(row["decl"]), int(row["objid"])
                name = key.decode()
            except (orjson.JSONDecodeError, TypeError, KeyError, ValueError) as exc:
                log.warning("TNS record %r ignored: not a crossmatch_tns row (%s)", key, exc)
                return
            self.rows[name] = row
        else:
            self.rows.pop(key.decode(errors="replace"), None)
        self._index = None

    def _positions(self) -> tuple[SkyIndex, list[dict[str, Any]]]:
        if self._index is None:
            rows = list(self.rows.values())
            xyz = unit_vectors(np.array([r["ra"] for r in rows], dtype=np.float64), np.array([r["decl"] for r in rows], dtype=np.float64))
            self._index = (SkyIndex(xyz.reshape(-1, 3)), rows)
        return self._index

    def match(self, ids: Sequence[int], ra: Sequence[float], dec: Sequence[float], watchlist_id: int,
              radius_arcsec: float = TNS_MATCH_ARCSEC) -> TnsMatches:
        """TNS objects within the radius of each object position, nearest first."""
        out = TnsMatches()
        if not ids or not self.rows:
            return out
        index, rows = self._positions()
        points = unit_vectors(np.asarray(ra, dtype=np.float64), np.asarray(dec, dtype=np.float64))
        for object_id, point, found in zip(ids, points, index.within(points, radius_arcsec)):
            if not found:
                continue
            seps = separation_arcsec(point, index.xyz[found])
            order = [k for k in np.argsort(seps, kind="stable").tolist() if seps[k] <= radius_arcsec]
            if not order:
                continue
            hits = [(rows[found[k]], float(seps[k])) for k in order]
            out.crossmatch_tns[object_id] = [{"diaObjectId": object_id, **{c: r[c] for c in ROW_COLUMNS}} for r, _ in hits]
            out.watchlist_hits[object_id] = [{"diaObjectId": object_id, "wl_id": watchlist_id, "cone_id": r["objid"], "arcsec": sep, "name": r["tns_name"]}
                                             for r, sep in hits]
            out.tns_name[object_id] = hits[0][0]["tns_name"]
        return out


def encode(row: dict[str, Any]) -> Record:
    return row["tns_name"].encode(), orjson.dumps(row)
