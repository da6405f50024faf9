"""Areas: a user's sky regions as MOCs (Multi-Order Coverage maps, the IVOA standard), read with
mocpy, kept on a compacted topic in chunks, and matched against every alert (`area_hits` rows).

A file may be FITS (Lasair's form), JSON or ASCII MOC; the format is told by its content. As in
Lasair, a MOC deeper than order 14 (cells of ~13") is refused; so is one that covers nothing.
The stored body is the MOC's ASCII form (exact, and readable with a console consumer).
Containment is mocpy's own (`MOC.contains_lonlat`), one vectorised call per area per batch.
"""
from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, replace
from io import BytesIO
from pathlib import Path
from typing import Any

import astropy.units as u
import numpy as np
from astropy.coordinates import Latitude, Longitude
from mocpy import MOC

from .bounded_file import read_bounded
from .watchlist_chunks import ChunkBook, Record
from .watchlist_record import check_settings

MAX_MOC_ORDER = 14  # Lasair's check on an uploaded MOC (its MOCORDER header keyword)
MAX_AREA_FILE_BYTES = 16 * 1024 * 1024
_FITS_START = b"SIMPLE  ="


class AreaFileError(ValueError):
    """A file that is not a usable MOC; the message is one line."""


class InvalidArea(ValueError):
    """An area that cannot be saved; the message names the field and why."""


def read_moc_file(path: str | Path, max_bytes: int = MAX_AREA_FILE_BYTES) -> MOC:
    """The MOC in the file at `path`, refused by its size before it is read."""
    return parse_moc(read_bounded(path, max_bytes, "an area file", AreaFileError), max_bytes)


def parse_moc(data: bytes, max_bytes: int = MAX_AREA_FILE_BYTES) -> MOC:
    """The MOC in an uploaded file's bytes: FITS, JSON or ASCII."""
    if len(data) > max_bytes:
        raise AreaFileError(f"the file is over {max_bytes:,} bytes, the limit for an area file")
    if not data.strip():
        raise AreaFileError("the file is empty")
    if data.startswith(_FITS_START):
        kind, read = "FITS", lambda: MOC.from_fits(BytesIO(data))
    else:
        try:
            text = data.decode("utf-8-sig").strip()
        except UnicodeDecodeError:
            raise AreaFileError("the file is neither FITS nor UTF-8 text (a JSON or ASCII MOC)") from None
        kind = "JSON" if text.startswith("{") else "ASCII"
        read = lambda: MOC.from_string(text, format=kind.lower())  # noqa: E731
    try:
        moc = read()
    except BaseException as e:  # mocpy's Rust panics are BaseExceptions (pyo3's PanicException)
        if not isinstance(e, Exception) and type(e).__name__ != "PanicException":
            raise
        cause = str(e).strip().splitlines()[0] if str(e).strip() else type(e).__name__
        raise AreaFileError(f"not a valid {kind} MOC: {cause}") from None
    if moc.max_order > MAX_MOC_ORDER:
        raise AreaFileError(f"MOC order {moc.max_order} is deeper than {MAX_MOC_ORDER}, the limit for an area")
    if moc.empty():
        raise AreaFileError("the MOC covers no sky")
    return moc


@dataclass(frozen=True)
class Area:
    id: int
    owner: str
    name: str
    moc: MOC
    description: str = ""
    public: bool = False
    active: bool = True
    version: int = 1  # of the MOC: goes up when it changes (see `revised_area`)

    def fields(self) -> dict[str, Any]:
        return {"id": self.id, "owner": self.owner, "name": self.name, "description": self.description,
                "public": self.public, "active": self.active, "version": self.version}


def revised_area(previous: Area, **changes: Any) -> Area:
    """`previous` with `changes`; a new version if the MOC changes, so only then are chunks rewritten."""
    bump = "moc" in changes and changes["moc"] != previous.moc
    return replace(previous, **changes, version=previous.version + 1 if bump else previous.version)


def validate_area(area: Area) -> Area:
    check_settings(area, InvalidArea)
    if not isinstance(area.moc, MOC) or area.moc.empty() or area.moc.max_order > MAX_MOC_ORDER:
        raise InvalidArea(f"moc must be a MOC that covers some sky, of order at most {MAX_MOC_ORDER}")
    return area


class AreaBook(ChunkBook[MOC, Area]):
    """Every complete area on the topic (`items`, by id), and the records that change them."""

    def decode_body(self, body: bytes) -> MOC:
        try:
            return MOC.from_string(body.decode(), format="ascii")
        except OSError as e:
            raise ValueError(str(e).strip().splitlines()[0]) from None

    def make(self, header: dict[str, Any], body: MOC) -> Area:
        return validate_area(Area(id=header["id"], owner=header["owner"], name=header["name"], moc=body,
                                  description=header["description"], public=header["public"], active=header["active"],
                                  version=header["version"]))

    def save(self, area: Area) -> list[Record]:
        """Records that store a new or revised area, after checking it (InvalidArea)."""
        validate_area(area)
        return self.writes(area.fields(), lambda: area.moc.to_string(format="ascii").encode())


class AreaIndex:
    """The active areas given, ready to test batches of positions; built whole, swapped whole."""

    def __init__(self, areas: Iterable[Area]):
        self.areas = [(a.id, a.moc) for a in sorted(areas, key=lambda a: a.id) if a.active]

    def __len__(self) -> int:
        return len(self.areas)

    def match(self, object_ids: np.ndarray, ra: np.ndarray, dec: np.ndarray) -> list[dict[str, Any]]:
        """`area_hits` rows (diaObjectId, ar_id), one per (object, area) containing it, in position order."""
        ra, dec = np.asarray(ra, dtype=np.float64), np.asarray(dec, dtype=np.float64)
        finite = np.flatnonzero(np.isfinite(ra) & np.isfinite(dec) & (np.abs(dec) <= 90))
        if not len(finite) or not self.areas:
            return []
        # Longitude/Latitude once per batch: mocpy converts plain quantities on every call, 5x its own cost
        lon, lat = Longitude(ra[finite], unit=u.deg), Latitude(dec[finite], unit=u.deg)
        at, ar_id = [], []
        for area_id, moc in self.areas:
            inside = np.flatnonzero(moc.contains_lonlat(lon, lat))
            at.append(finite[inside])
            ar_id.append(np.full(len(inside), area_id))
        positions, ids = np.concatenate(at), np.concatenate(ar_id)
        order = np.lexsort((ids, positions))
        return [{"diaObjectId": int(object_ids[i]), "ar_id": int(a)} for i, a in zip(positions[order].tolist(), ids[order].tolist())]
