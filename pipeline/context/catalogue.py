"""Operator-supplied catalogues for the built-in contextual classifier, read from CSV or Parquet.

Each file is one catalogue (its name, the file's stem, becomes `catalogue_table_name`). Columns
are found by name, case-insensitively, under a few usual spellings; only position and kind are
required. A file with any bad value is refused as a whole with one line naming the file, the
row and the column, and nothing of any file is loaded: a half-loaded catalogue would classify
silently wrong. Values are kept as numpy columns (float32 for the physical quantities; a column
no file has costs nothing): 10 million sources take about 0.9 GB with the classifier's index
(`run.py bench context`).
"""
from __future__ import annotations

import csv
import hashlib
import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, fields
from pathlib import Path
from typing import Any

import numpy as np

from .errors import CatalogueError
from .sky_index import unit_vectors

STAR, GALAXY, QSO, CV = range(4)
KIND_NAMES = ("star", "galaxy", "qso", "cv")
KIND_CODES = {"star": STAR, "galaxy": GALAXY, "qso": QSO, "agn": QSO, "cv": CV}

# field -> accepted column names (lower case); the first is the documented one.
COLUMN_NAMES: dict[str, tuple[str, ...]] = {
    "ra": ("ra", "radeg", "ra_deg"),
    "dec": ("dec", "decl", "decdeg", "dec_deg"),
    "kind": ("kind", "type", "class"),
    "name": ("name", "id", "object_id"),
    "z": ("z", "redshift", "spec_z", "specz"),
    "photoz": ("photoz", "photo_z"),
    "photoz_err": ("photoz_err", "photo_z_err", "photozerr"),
    "distance": ("distance_mpc", "distance", "direct_distance"),
    "mag": ("mag", "magnitude"),
    "mag_err": ("mag_err", "magerr"),
    "mag_filter": ("mag_filter", "filter", "band"),
    "major_axis": ("major_axis_arcsec", "major_axis"),
}
REQUIRED = ("ra", "dec", "kind")
_FLOAT_FIELDS = ("z", "photoz", "photoz_err", "distance", "mag", "mag_err", "major_axis")
_NON_NEGATIVE = ("z", "photoz", "photoz_err", "distance", "mag_err", "major_axis")


@dataclass
class Catalogue:
    """All sources of all files, as parallel columns; optional columns are NaN (or None) where absent."""

    tables: tuple[str, ...]
    table: np.ndarray       # int16 index into tables
    kind: np.ndarray        # int8 STAR, GALAXY, QSO, CV
    xyz: np.ndarray         # (n, 3) float64 unit vectors
    row: np.ndarray         # int32 1-based row within its file, the id of a source without a name
    name: np.ndarray | None  # object array of str (None where a source has no name)
    z: np.ndarray
    photoz: np.ndarray
    photoz_err: np.ndarray
    distance: np.ndarray
    mag: np.ndarray
    mag_err: np.ndarray
    mag_filter: np.ndarray | None
    major_axis: np.ndarray
    version: str

    def __len__(self) -> int:
        return len(self.kind)

    def take(self, order: np.ndarray) -> Catalogue:
        """The same catalogue with its sources reordered (or selected) by `order`."""
        values = {f.name: getattr(self, f.name) for f in fields(self)}
        for key, value in values.items():
            if isinstance(value, np.ndarray):
                # a column absent from every file is one broadcast NaN: keep it so
                values[key] = np.broadcast_to(value[:1], (len(order), *value.shape[1:])) if value.strides[:1] == (0,) else value[order]
        return Catalogue(**values)

    def object_id(self, i: int) -> str:
        """Sherlock's catalogue_object_id: the name with spaces removed."""
        name = self.name[i] if self.name is not None else None
        return name.replace(" ", "") if name is not None else str(self.row[i])

    def position(self, i: int) -> tuple[float, float]:
        x, y, z = self.xyz[i].tolist()
        return math.degrees(math.atan2(y, x)) % 360.0, math.degrees(math.asin(max(-1.0, min(1.0, z))))

    def value(self, column: str, i: int) -> float | None:
        v = float(getattr(self, column)[i])
        return None if math.isnan(v) else v


def from_columns(tables: Sequence[tuple[str, dict[str, Any]]], version: str | None = None) -> Catalogue:
    """A catalogue from already-validated columns per table (`ra`, `dec`, `kind` codes required).

    For callers that build sources in memory (the synthetic catalogue, benchmarks).
    """
    n = [len(cols["ra"]) for _, cols in tables]
    total = sum(n)

    def joined(key: str, dtype: Any, fill: Any) -> np.ndarray:
        if not any(key in cols for _, cols in tables):  # absent everywhere: 4 bytes, not 4 a source
            return np.broadcast_to(np.array(fill, dtype=dtype), (total,))
        parts = [np.asarray(cols[key], dtype=dtype) if key in cols else np.full(k, fill, dtype=dtype) for (_, cols), k in zip(tables, n)]
        return np.concatenate(parts) if parts else np.empty(0, dtype=dtype)

    def optional_text(key: str) -> np.ndarray | None:
        if not any(key in cols for _, cols in tables):
            return None
        return joined(key, object, None)

    ra, dec = joined("ra", np.float64, np.nan), joined("dec", np.float64, np.nan)
    if version is None:
        digest = hashlib.sha256()
        for name, cols in tables:
            digest.update(name.encode())
            for key in sorted(cols):
                values = np.asarray(cols[key])
                digest.update(key.encode() + (values.tobytes() if values.dtype != object else repr(values.tolist()).encode()))
        version = digest.hexdigest()[:12]
    return Catalogue(
        tables=tuple(name for name, _ in tables),
        table=np.repeat(np.arange(len(tables), dtype=np.int16), n),
        row=np.concatenate([np.arange(1, k + 1, dtype=np.int32) for k in n]) if tables else np.empty(0, dtype=np.int32),
        kind=joined("kind", np.int8, STAR),
        xyz=unit_vectors(ra, dec) if total else np.empty((0, 3)),
        name=optional_text("name"),
        **{key: joined(key, np.float32, np.nan) for key in _FLOAT_FIELDS if key != "major_axis"},
        mag_filter=optional_text("mag_filter"),
        major_axis=joined("major_axis", np.float32, np.nan),
        version=version,
    )


def load_catalogues(paths: Iterable[str | Path]) -> Catalogue:
    """Read every file, then build one catalogue; the first bad file raises CatalogueError."""
    tables, digest = [], hashlib.sha256()
    for path in map(Path, paths):
        try:
            digest.update(path.name.encode() + path.read_bytes())
        except OSError as exc:
            raise CatalogueError(f"{path}: cannot read: {exc.strerror or exc}") from None
        tables.append((path.stem, _read(path)))
    names = [name for name, _ in tables]
    if len(set(names)) != len(names):
        raise CatalogueError(f"two catalogue files share a name ({', '.join(sorted({n for n in names if names.count(n) > 1}))}): each file's stem names its catalogue")
    return from_columns(tables, digest.hexdigest()[:12])


def _read(path: Path) -> dict[str, Any]:
    suffix = path.suffix.lower()
    if suffix == ".csv":
        raw, where = _read_csv(path), "line"
    elif suffix in (".parquet", ".pq"):
        raw, where = _read_parquet(path), "row"
    else:
        raise CatalogueError(f"{path}: not a catalogue file: expected a .csv or .parquet name")
    return _validate(path, raw, where)


def _read_csv(path: Path) -> dict[str, list[Any]]:
    try:
        with path.open(newline="", encoding="utf-8") as f:
            reader = csv.reader(f)
            header = next(reader, None)
            if header is None:
                raise CatalogueError(f"{path}: empty file: expected a header line")
            rows = list(reader)
    except UnicodeDecodeError as exc:
        raise CatalogueError(f"{path}: not UTF-8 text ({exc.reason} at byte {exc.start})") from None
    except csv.Error as exc:
        raise CatalogueError(f"{path}: bad CSV: {exc}") from None
    for i, row in enumerate(rows):
        if len(row) != len(header):
            raise CatalogueError(f"{path}: line {i + 2}: {len(row)} values, the header has {len(header)}")
    return {name.strip(): [row[j] for row in rows] for j, name in enumerate(header)}


def _read_parquet(path: Path) -> dict[str, list[Any]]:
    try:
        import pyarrow.parquet as pq
    except ImportError:
        raise CatalogueError(f"{path}: reading Parquet needs pyarrow (pip install 'alertflow[parquet]'), or give the catalogue as CSV") from None
    try:
        table = pq.read_table(path)
    except Exception as exc:  # noqa: BLE001 - pyarrow raises several types for a corrupt file
        raise CatalogueError(f"{path}: not a readable Parquet file: {exc}") from None
    return {name: table.column(name).to_pylist() for name in table.column_names}


def _validate(path: Path, raw: dict[str, list[Any]], where: str) -> dict[str, Any]:
    first = 2 if where == "line" else 1
    by_lower = {name.lower(): name for name in raw}
    found: dict[str, str] = {}
    for key, spellings in COLUMN_NAMES.items():
        name = next((by_lower[s] for s in spellings if s in by_lower), None)
        if name is not None:
            found[key] = name
        elif key in REQUIRED:
            raise CatalogueError(f"{path}: no column {key!r} (accepted names: {', '.join(spellings)})")
    cols: dict[str, Any] = {}

    def fail(i: int, key: str, cause: str) -> CatalogueError:
        return CatalogueError(f"{path}: {where} {i + first}, column {found[key]!r}: {cause}")

    for key in ("ra", "dec", *_FLOAT_FIELDS):
        if key not in found:
            continue
        values = np.empty(len(raw[found[key]]), dtype=np.float64)
        for i, v in enumerate(raw[found[key]]):
            if v is None or (isinstance(v, str) and v.strip() in ("", "null", "NULL", "nan", "NaN")):
                if key in REQUIRED:
                    raise fail(i, key, "empty: every source needs a position")
                values[i] = np.nan
                continue
            try:
                values[i] = float(v)
            except (TypeError, ValueError):
                raise fail(i, key, f"{v!r} is not a number") from None
            if not math.isfinite(values[i]):
                raise fail(i, key, f"{v!r} is not a finite number")
        bad = _out_of_range(key, values)
        if bad is not None:
            raise fail(int(bad), key, f"{values[bad]:g} is out of range ({_RANGES[key]})")
        cols[key] = values
    kinds = raw[found["kind"]]
    codes = np.empty(len(kinds), dtype=np.int8)
    for i, v in enumerate(kinds):
        code = KIND_CODES.get(str(v).strip().lower()) if v is not None else None
        if code is None:
            raise fail(i, "kind", f"{v!r} is not a kind: expected one of star, galaxy, qso, agn, cv")
        codes[i] = code
    cols["kind"] = codes
    for key in ("name", "mag_filter"):
        if key in found:
            cols[key] = [None if v is None or str(v).strip() == "" else str(v).strip() for v in raw[found[key]]]
    return cols


_RANGES = {"ra": "0 to 360 degrees", "dec": "-90 to 90 degrees", **{k: "must not be negative" for k in _NON_NEGATIVE}}


def _out_of_range(key: str, values: np.ndarray) -> int | None:
    with np.errstate(invalid="ignore"):
        if key == "ra":
            bad = (values < 0) | (values > 360)
        elif key == "dec":
            bad = (values < -90) | (values > 90)
        elif key in _NON_NEGATIVE:
            bad = values < 0
        else:
            return None
    hits = np.flatnonzero(bad)
    return int(hits[0]) if len(hits) else None
