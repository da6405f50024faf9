"""Filters with JSON_EXTRACT and JSON_UNQUOTE: MariaDB's answers in both runtimes, and the refusals with their position."""
from __future__ import annotations

import json
from typing import Any

import pytest

from pipeline.context.batch import BatchContext
from pipeline.filters import FilterError, FilterSet, compile_filter

DOCS = [{"SN": 0.93, "cls": "SN", "s": "0.95", "n": None, "t": True, "o": {"x": 1}, "pad": "SN  "},
        {"SN": "0.5abc", "cls": "sn", "s": "x", "n": 1, "t": False, "o": [1], "pad": "sn"},
        {"AGN": 1}]
OBJECTS = [{"diaObjectId": i + 1} for i in range(len(DOCS) + 1)]  # the last object has no annotation
CONTEXT = BatchContext(len(OBJECTS), {"annotations": [
    [{"diaObjectId": i + 1, "topic": "needle", "version": "1", "classdict": json.dumps(d)}] for i, d in enumerate(DOCS)] + [[]]})
FROM = "FROM objects, annotations AS a WHERE "


def selected(where: str) -> list[int]:
    """Object ids the filter selects, the vectorised FilterSet and the per-row form agreeing."""
    compiled = compile_filter(f"SELECT objects.diaObjectId {FROM}{where}")
    hits = FilterSet([compiled]).select(OBJECTS, CONTEXT).get(0)
    vector = [] if hits is None else [OBJECTS[i]["diaObjectId"] for i in hits.alerts]
    per_row = [o["diaObjectId"] for i, o in enumerate(OBJECTS)
               for r in CONTEXT.rows("annotations", i) if compiled.matches({**o, **{f"a.{k}": v for k, v in r.items()}})]
    assert vector == per_row
    return vector


@pytest.mark.parametrize("where, ids", [
    ("JSON_EXTRACT(a.classdict, '$.SN') > 0.8", [1]),
    ("0.8 < JSON_EXTRACT(a.classdict, '$.SN')", [1]),
    ("JSON_EXTRACT(a.classdict, '$.SN') > 0.4", [1, 2]),  # "0.5abc" is 0.5 as a number
    ("JSON_EXTRACT(a.classdict, '$.cls') = 'SN'", [1]),  # JSON strings compare case-sensitively
    ("JSON_EXTRACT(a.classdict, '$.pad') = 'SN'", [1]),  # trailing spaces ignored (PAD SPACE)
    ("JSON_EXTRACT(a.classdict, '$.n') > -1", [1, 2]),  # JSON null is 0 against a number
    ("JSON_EXTRACT(a.classdict, '$.n') IS NULL", [3]),  # ... but not SQL NULL; a missing key is
    ("JSON_EXTRACT(a.classdict, '$.t') = 1", [1]),
    ("JSON_EXTRACT(a.classdict, '$.t') = 'true'", [1]),
    ("JSON_EXTRACT(a.classdict, '$.o') = '{\"x\": 1}'", [1]),
    ("JSON_EXTRACT(a.classdict, '$.SN[0]') > 0.8", [1]),  # [0] of a non-array is the value itself (auto-wrap)
    ("JSON_EXTRACT(a.classdict, '$.o[0]') = 1", [2]),
    ("JSON_EXTRACT(a.classdict, '$.cls') IN ('SN', 'x')", []),  # IN sees the quoted JSON text
    ("JSON_EXTRACT(a.classdict, '$.cls') IN ('\"SN\"', 'x')", [1]),
    ("JSON_EXTRACT(a.classdict, '$.SN') IN (0.93, 7)", [1]),
    ("JSON_EXTRACT(a.classdict, '$.SN') BETWEEN 0.4 AND 0.6", [2]),
    ("JSON_EXTRACT(a.classdict, '$.cls') LIKE '\"s%'", [1, 2]),  # LIKE sees the JSON text (case-insensitive here)
    ("JSON_UNQUOTE(JSON_EXTRACT(a.classdict, '$.cls')) = 'sn'", [2]),  # utf8mb4_bin: case-sensitive
    ("JSON_UNQUOTE(JSON_EXTRACT(a.classdict, '$.cls')) IN ('SN', 'AGN')", [1]),
    ("JSON_EXTRACT(a.classdict, '$.SN') + 1 > 1.9", [1]),
    ("JSON_EXTRACT(a.classdict, '$.SN')", [1, 2]),  # a bare condition: true when non-zero as a number
    ("NOT JSON_EXTRACT(a.classdict, '$.SN') <=> NULL", [1, 2]),
    ("JSON_EXTRACT('{\"k\": 2}', '$.k') = 2 AND JSON_EXTRACT(a.classdict, '$.AGN') = 1", [3]),
])
def test_json_conditions_follow_mariadb(where: str, ids: list[int]) -> None:
    assert selected(where) == ids


def test_selected_json_values_are_their_json_text() -> None:
    compiled = compile_filter("SELECT JSON_EXTRACT(a.classdict, '$.cls') AS c, JSON_UNQUOTE(JSON_EXTRACT(a.classdict, '$.cls')) AS u, "
                              "JSON_EXTRACT(a.classdict, '$.o') AS o, a.classdict FROM objects, annotations AS a")
    row: dict[str, Any] = {"diaObjectId": 1, "a.classdict": json.dumps(DOCS[0])}
    assert compiled.project(row) == {"c": '"SN"', "u": "SN", "o": '{"x": 1}', "classdict": json.dumps(DOCS[0])}
    assert compiled.project({"diaObjectId": 1, "a.classdict": None}) == {"c": None, "u": None, "o": None, "classdict": None}


@pytest.mark.parametrize("expression, token, cause", [
    ("JSON_EXTRACT(a.classdict, '$.*') > 1", "'$.*'", "JSON path '$.*', position 3: unsupported .* wildcards"),
    ("JSON_EXTRACT(a.classdict, '$[last]') > 1", "'$[last]'", "JSON path '$[last]', position 3: unsupported [last]"),
    ("JSON_EXTRACT(a.classdict, '$.a', '$.b') > 1", "'$.b'", "JSON_EXTRACT with several paths is not supported"),
    ("JSON_EXTRACT(a.classdict, a.topic) > 1", "a.topic", "JSON_EXTRACT's path must be a string literal"),
    ("JSON_EXTRACT(a.classdict, '$.a') = JSON_EXTRACT(a.classdict, '$.b')", "JSON_EXTRACT(a.classdict, '$.b')",
     "comparing two JSON values is not supported"),
    ("JSON_UNQUOTE(JSON_EXTRACT(a.classdict, '$.a')) > 0.5", "0.5", "JSON_UNQUOTE gives a string"),
    ("COALESCE(JSON_EXTRACT(a.classdict, '$.a'), 0) > 1", "JSON_EXTRACT", "a JSON value cannot be one of the values of COALESCE"),
    ("JSON_EXTRACT(a.diaObjectId, '$.a') > 1", "a.diaObjectId", "JSON_EXTRACT reads a JSON document"),
    ("a.classdict->'$.a' > 1", "a.classdict->", "the -> operator is not supported"),
])
def test_refusals_say_where_and_why(expression: str, token: str, cause: str) -> None:
    sql = f"SELECT objects.diaObjectId {FROM}{expression}"
    with pytest.raises(FilterError) as caught:
        compile_filter(sql)
    assert caught.value.cause.startswith(cause), caught.value
    assert (caught.value.line, caught.value.column) == (1, sql.index(token) + 1), caught.value
