"""Column values as the filters see them, one row at a time or a batch at a time.

A row is a dict of Python values where None or a float NaN means NULL. Every read goes
through one normaliser per column kind, shared by the per-row reads and by
`ColumnBatch.from_rows`, so both evaluation forms start from identical values. A batch
keeps NULL as a boolean mask beside each value array, so three-valued logic stays exact;
under a NULL a double column also holds NaN, which the vectorised comparisons rely on.
"""
from __future__ import annotations

import math
import operator
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

import numpy as np

from pipeline.decode.columnar import Column  # values, NULL mask
from pipeline.features.columns import COLUMN_NAMES, INTEGER_COLUMNS, STRING_COLUMNS
from pipeline.features.objects_ext import OBJECTS_EXT_COLUMNS
from .collation import sort_key
from .ir import FLOAT, INT, INT64_MAX, INT64_MIN, STR
from .json_ops import JSON, norm_json

# The objects row: Lasair's core columns and its extended (objects_ext) ones.
COLUMN_KINDS: dict[str, str] = {
    **{name: INT if name in INTEGER_COLUMNS else STR if name in STRING_COLUMNS else FLOAT for name in COLUMN_NAMES},
    **{c.name: INT if c.sql_type == "int" else FLOAT for c in OBJECTS_EXT_COLUMNS},
}


def norm_float(value: Any) -> float | None:
    """DOUBLE: NaN and ±inf are NULL (MySQL cannot store them); numeric text is converted."""
    if type(value) is not float:
        if value is None:
            return None
        try:
            value = float(value)
        except (TypeError, ValueError, OverflowError):
            return None
    return value if value - value == 0.0 else None


def norm_int(value: Any) -> int | None:
    """BIGINT: a non-integral number is rounded half away from zero, as MySQL stores it."""
    if type(value) is not int:
        if value is None:
            return None
        try:
            value = operator.index(value)
        except TypeError:
            real = norm_float(value)
            if real is None:
                return None
            value = math.trunc(real)
            if abs(real - value) >= 0.5:
                value += 1 if real > 0 else -1
    return value if INT64_MIN <= value <= INT64_MAX else None


def norm_str(value: Any) -> str | None:
    if isinstance(value, str):
        return value
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return None
    if isinstance(value, bytes):
        return value.decode("utf-8", "replace")
    return str(value)


NORMALISERS = {FLOAT: norm_float, INT: norm_int, STR: norm_str, JSON: norm_json}
_FILL = {FLOAT: math.nan, INT: 0, STR: "", JSON: None}  # NaN under a NULL double: see vector_ops
_DTYPE = {FLOAT: np.float64, INT: np.int64, STR: object, JSON: object}
_EXACT_TYPES = {INT: {int, type(None)}, STR: {str, type(None)}, JSON: set()}  # JSON text is always parsed



class ColumnBatch:
    """Rows turned into columns once, then shared by every filter evaluated on them.

    Values under a NULL are filler (NaN, 0 or ''), never read as data.
    """

    __slots__ = ("_length", "_values", "_nulls", "_folded", "columns", "pairs")

    def __init__(self, length: int, values: Mapping[str, np.ndarray], nulls: Mapping[str, np.ndarray]) -> None:
        self._length = length
        self._values = dict(values)
        self._nulls = dict(nulls)
        self._folded: dict[str, tuple[np.ndarray, np.ndarray | None]] = {}
        self.columns: frozenset[str] = frozenset(self._values)
        # (values, mask or None when the column has no NULL in this batch), as filters read them
        self.pairs: dict[str, tuple[np.ndarray, np.ndarray | None]] = {
            name: (values, self._nulls[name] if self._nulls[name].any() else None)
            for name, values in self._values.items()}

    @classmethod
    def from_rows(cls, rows: Sequence[Mapping[str, Any]], columns: Iterable[str],
                  kinds: Mapping[str, str] = COLUMN_KINDS) -> ColumnBatch:
        """`kinds` gives each column's type: the objects row's by default, a context table's for its rows."""
        names = list(dict.fromkeys(columns))
        converted: dict[str, Column] = {}
        for kind in (FLOAT, INT):
            converted.update(_bulk(rows, [name for name in names if kinds[name] == kind], kind))
        for name in names:
            if name not in converted:
                converted[name] = _column([row.get(name) for row in rows], kinds[name])
        return cls.from_columns(len(rows), converted)

    def __len__(self) -> int:
        return self._length

    def take(self, indices: np.ndarray, names: Mapping[str, str]) -> dict[str, Column]:
        """Columns `names` (old name -> new name) gathered at `indices`: rows of a join."""
        return {new: (self._values[old][indices], self._nulls[old][indices]) for old, new in names.items()}

    @classmethod
    def from_columns(cls, length: int, columns: Mapping[str, Column]) -> ColumnBatch:
        return cls(length, {n: c[0] for n, c in columns.items()}, {n: c[1] for n, c in columns.items()})

    def values(self, name: str) -> np.ndarray:
        return self._values[name]

    def nulls(self, name: str) -> np.ndarray:
        return self._nulls[name]

    def column(self, name: str) -> tuple[np.ndarray, np.ndarray | None]:
        """Values and NULL mask; the mask is None when the column has no NULL in this batch."""
        return self.pairs[name]

    def folded(self, name: str) -> tuple[np.ndarray, np.ndarray | None]:
        """A string column's collation keys, computed once per batch for all filters comparing it."""
        if name not in self._folded:
            values, mask = self.column(name)
            lowered = np.empty(len(values), dtype=object)
            lowered[:] = [sort_key(text) for text in values]
            self._folded[name] = (lowered, mask)
        return self._folded[name]

    def row(self, index: int) -> dict[str, Any]:
        """One row back as normalised Python values (for the per-row fallback)."""
        row: dict[str, Any] = {}
        for name, values in self._values.items():
            value = values[index]
            row[name] = None if self._nulls[name][index] else (
                value.item() if isinstance(value, np.generic) else value)
        return row


def _bulk(rows: Sequence[Mapping[str, Any]], names: list[str], kind: str) -> dict[str, Column]:
    """Many numeric columns in one numpy conversion: most of a batch's conversion time.

    Only when every value is plain (a number or None for doubles, an integer for BIGINT);
    otherwise nothing is returned and each column goes the careful way.
    """
    if not names:
        return {}
    try:
        cells = list(map(operator.itemgetter(*names), rows))
    except KeyError:
        return {}
    shape = (len(rows), len(names)) if len(names) > 1 else (len(rows),)
    table = _as_array(cells, shape, _DTYPE[kind])
    if table is None:
        return {}
    values = np.ascontiguousarray(table.reshape(len(rows), len(names)).T)
    values, nulls = _finite(values) if kind == FLOAT else (values, np.zeros(values.shape, dtype=bool))
    return {name: (values[i], nulls[i]) for i, name in enumerate(names)}


def _as_array(cells: list[Any], shape: tuple[int, ...], dtype: type) -> np.ndarray | None:
    """Values exactly as the normalisers would read them, or None.

    To make doubles numpy calls float() on each object (None giving NaN), as `norm_float`
    does. For BIGINT numpy must choose int64 by itself, which it does only when every
    value is an integer (or bool) within range: values `norm_int` keeps as they are.
    """
    try:
        array = np.array(cells, dtype=np.float64 if dtype is np.float64 else None)
    except (TypeError, ValueError, OverflowError):
        return None
    # A wrong shape means a cell was itself a sequence.
    return array if array.shape == shape and array.dtype == dtype else None


def _finite(values: np.ndarray) -> Column:
    nulls = ~np.isfinite(values)
    values[nulls] = np.nan  # an infinity is NULL too
    return values, nulls


def _column(raw: list[Any], kind: str) -> Column:
    if kind == FLOAT:
        values = _as_array(raw, (len(raw),), np.float64)
        return _finite(values) if values is not None else _slow(raw, kind)
    if set(map(type, raw)) <= _EXACT_TYPES[kind]:
        nulls = np.fromiter((v is None for v in raw), dtype=bool, count=len(raw))
        values = np.empty(len(raw), dtype=_DTYPE[kind])
        try:
            values[:] = [_FILL[kind] if v is None else v for v in raw] if nulls.any() else raw
            return values, nulls
        except OverflowError:
            pass  # an integer beyond BIGINT: the normaliser makes it NULL
    return _slow(raw, kind)


def _slow(raw: list[Any], kind: str) -> Column:
    normalise, fill = NORMALISERS[kind], _FILL[kind]
    clean = [normalise(v) for v in raw]
    nulls = np.fromiter((v is None for v in clean), dtype=bool, count=len(clean))
    values = np.empty(len(clean), dtype=_DTYPE[kind])
    values[:] = [fill if v is None else v for v in clean]
    return values, nulls
