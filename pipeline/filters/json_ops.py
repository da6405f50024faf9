"""Runtime helpers for JSON_EXTRACT and JSON_UNQUOTE, per row and vectorised, with json_path's semantics.

A value of the IR type `json` is a `json_path.Json` (the value found) or None (SQL NULL): what
JSON_EXTRACT returns, and what a JSON column (annotations.classdict) reads as, its document
parsed once per row or batch. Only annotation filters use these, so the vectorised forms apply the
per-row helper element by element over object arrays (identical to the per-row form by
construction) rather than being vectorised for speed.
"""
from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

import numpy as np

from .json_path import Json, JsonPath, compare_binary, compare_json, extract, parse_json, to_number, to_text, unquote

JSON = "json"  # the IR type and column kind of a JSON value

Pair = tuple[Any, Any]  # vector_ops' (values, NULL mask or None)


def norm_json(value: Any) -> Json | None:
    """A JSON column's value: its document parsed (NULL for NULL or text that is not JSON)."""
    if value is None or isinstance(value, Json):
        return value
    if isinstance(value, (dict, list)):
        return Json(value)
    if isinstance(value, (str, bytes)):
        try:
            return Json(parse_json(value))
        except ValueError:
            return None
    return None


def load_json(row: Mapping[str, Any], name: str) -> Json | None:
    return norm_json(row.get(name))


def json_extract(document: Json | str | None, path: JsonPath) -> Json | None:
    """JSON_EXTRACT of a JSON value or of JSON text."""
    return extract(document.value if isinstance(document, Json) else document, path)


def json_compare(found: Json | None, other: float | str | None, op: str) -> bool | None:
    return compare_json(found, other, op)


def binary_compare(left: str | None, right: str | None, op: str) -> bool | None:
    """Strings compared as utf8mb4_bin (JSON_UNQUOTE's and JSON text's collation): case-sensitive."""
    return compare_binary(left, right, op)


ROW_HELPERS: dict[str, Callable[..., Any]] = {
    "load_json": load_json, "json_extract": json_extract, "json_unquote": unquote, "json_text": to_text,
    "json_number": to_number, "json_compare": json_compare, "binary_compare": binary_compare,
}


def _elementwise(fn: Callable[..., Any], n_args: int, dtype: Any, fill: Any) -> Callable[..., Pair]:
    """`fn` applied to each row of its (values, mask) arguments; the result NULL-masked, `fill` under NULL
    (NaN for doubles and False for booleans, as vector_ops' invariants want)."""
    def apply(*args: Any) -> Pair:
        pairs, params = args[:n_args], args[n_args:]
        n = max((np.size(values) for values, _ in pairs if isinstance(values, np.ndarray) and values.ndim), default=1)
        columns = []
        for values, mask in pairs:
            items = list(np.broadcast_to(np.asarray(values, dtype=object), (n,)))
            if mask is not None:
                items = [None if null else v for v, null in zip(items, np.broadcast_to(mask, (n,)).tolist())]
            columns.append([v.item() if isinstance(v, np.generic) else v for v in items])
        results = [fn(*row, *params) for row in zip(*columns)] if columns else [fn(*params)] * n
        nulls = np.fromiter((r is None for r in results), dtype=bool, count=n)
        values = np.empty(n, dtype=dtype)
        values[:] = [fill if r is None else r for r in results]
        return values, (nulls if nulls.any() else None)
    return apply


VECTOR_HELPERS: dict[str, Callable[..., Any]] = {
    "load_json": lambda batch, name: batch.pairs[name],
    "json_extract": _elementwise(json_extract, 1, object, None),
    "json_unquote": _elementwise(unquote, 1, object, ""),
    "json_text": _elementwise(to_text, 1, object, ""),
    "json_number": _elementwise(to_number, 1, np.float64, np.nan),
    "json_compare": _elementwise(json_compare, 2, bool, False),
    "binary_compare": _elementwise(binary_compare, 2, bool, False),
}
