"""Fused filters (`FusedWheres`, used by `FilterSet`) select exactly what each filter's own generated
code and its per-row form select: on random Lasair-like filters over rows with NULLs, and on every
leaf shape the fused form takes (and those it leaves to the filter's own code)."""
from __future__ import annotations

import math

import numpy as np
import pytest

from pipeline.context.batch import BatchContext
from pipeline.filters import ColumnBatch, CompiledFilter, FilterSet, compile_filter
from pipeline.filters.bench import random_filter_sql, random_rows
from pipeline.filters.fused import MAX_TERMS, FusedWheres
from pipeline.filters.ir import INT64_MAX, INT64_MIN

NOW = 61000.0

# Rows at the edges: thresholds hit exactly, int64 extremes, NULL integers, NaN and ±inf (NULL), -0.0.
EDGE_ROWS = [
    {"diaObjectId": INT64_MAX, "nDiaSources": 3, "ra": 1.5, "decl": -0.0, "jump2": 0.5, "g_psfFlux": 100.0},
    {"diaObjectId": INT64_MIN, "nDiaSources": None, "ra": math.nan, "decl": 0.0, "jump2": None, "g_psfFlux": math.inf},
    {"diaObjectId": 170_000_000_000_000_000, "nDiaSources": 2, "ra": 0.0, "decl": 1.25, "jump2": -math.inf,
     "g_psfFlux": -1.0, "tns_name": "X"},
    {"diaObjectId": 0, "nDiaSources": 5, "ra": -0.0, "decl": 3.0, "jump2": 2.0, "g_psfFlux": 1e300},
    {"diaObjectId": -1, "nDiaSources": 0, "ra": 3.0, "decl": None, "jump2": 0.0, "g_psfFlux": None, "tns_name": "x "},
]
ROWS = random_rows(200, seed=7) + EDGE_ROWS

OPS = ["=", "!=", "<>", "<", "<=", ">", ">="]
FUSED = [
    *(f"nDiaSources {op} 3" for op in OPS),  # BIGINT with an integer
    *(f"3 {op} nDiaSources" for op in OPS),  # the constant on the left
    *(f"ra {op} 1.5" for op in OPS),  # DOUBLE with a DECIMAL literal (read as a double)
    *(f"1.5 {op} jump2" for op in OPS),  # ... on a column with NULLs, constant on the left
    *(f"nDiaSources {op} 2.5e0" for op in OPS),  # to_float(BIGINT) with a double
    *(f"nDiaSources {op} 2.5" for op in OPS),  # BIGINT with a DECIMAL: an integer comparison (or two)
    "jump2 != 0", "decl = 0", "decl < 0", "g_psfFlux >= -1e300",
    "nDiaSources = 2e0", "diaObjectId = 1.7e17",
    f"diaObjectId = {INT64_MAX}", f"diaObjectId >= {INT64_MIN}", f"diaObjectId < {INT64_MIN}", "diaObjectId > -1",
    "ra BETWEEN 1.25 AND 3", "nDiaSources BETWEEN 2 AND 5", "jump2 BETWEEN -1 AND 0.5",
    "nDiaSources IN (0, 2, 7)", "ra IN (0, 1.5, -0.0)", "nDiaSources IN (1, NULL, 5)", "jump2 IN (0.5, NULL, 2)",
    "ra IN (NULL, NULL)", "nDiaSources IN (2e0, 3.5e0)",
    "mjdnow() - lastDiaSourceMjdTai < 7", "mjdnow() > 60000",  # expressions
    "lastDiaSourceMjdTai > mjdnow() - 10", "mjdnow() - 30 < firstDiaSourceMjdTai", "ra != mjdnow() - mjdnow()",  # per batch
    "g_latestMJD > mjdnow() - 7 AND nDiaSources >= 1", "nDiaSources > 1 + 1",
    "nDiaSources > 9223372036854775807 + 1", "ra != LOG(0)", "ra > LOG(0) OR decl < 0",  # thresholds NULL
    "ra + 1 > 2", "nDiaSources + 1 >= 3", "diaObjectId + 1 > 0", "g_psfFlux / ra > 2", "ABS(decl) < 1", "ra + 1 IN (2.5, 4)",
    "nDiaSources IN (1, 2, 7) AND mjdnow() - lastDiaSourceMjdTai < 30 AND ra + 0 > 1",
    "ra > NULL", "ra > NULL OR nDiaSources > 3", "TRUE", "FALSE", "NULL", "TRUE AND ra > 1", "FALSE OR ra > 1",
    "NULL OR ra > 1", "TRUE OR ra > 1", "NULL AND ra > 1",
    "(ra > 1 OR decl < 0) AND (nDiaSources >= 3 OR jump2 > 0.5) AND (g_psfFlux > 100 OR ra < 0.5)",
    "ra > 1 AND ra > 1 AND (decl < 0 OR decl < 0)", "nDiaSources = 3 OR (ra > 1 AND (decl < 2 OR jump2 != 0.5))",
]
LEFT_TO_THE_FILTER = [
    "tns_name = 'x'", "tns_name = 'x' OR ra > 1",  # strings
    "ra > decl", "ra > decl - 1",  # no side the same for all alerts
    "NOT ra > 1", "ra NOT BETWEEN 1 AND 2", "nDiaSources",  # other operators
    "diaObjectId < 9223372036854775808", "nDiaSources IN (1, 2.5)",  # DECIMAL comparisons
    "ra IS NULL OR ra > 1", "(ra > 1) = (decl > 1)", "1.5 BETWEEN ra AND 3",
    " AND ".join(f"(ra > {i} OR decl < {i})" for i in range(5)),  # 32 DNF terms
]


def compiled(where: str) -> CompiledFilter:
    return compile_filter(f"SELECT objects.diaObjectId FROM objects WHERE {where}")


def per_row(f: CompiledFilter, rows: list[dict]) -> list[bool]:
    return [f.matches(row, NOW) for row in rows]


@pytest.mark.parametrize("where", FUSED + LEFT_TO_THE_FILTER)
def test_each_shape_is_fused_or_not_as_expected_and_selects_what_its_own_code_selects(where: str) -> None:
    f = compiled(where)
    fused = FusedWheres({"f": f.where})
    assert (fused.keys == ("f",)) == (where in FUSED)
    batch = ColumnBatch.from_rows(ROWS, f.where_columns)
    own = f.matches_batch(batch, NOW).tolist()
    assert own == per_row(f, ROWS)
    if where in FUSED:
        with np.errstate(all="ignore"):
            assert fused.masks(batch, NOW)["f"].tolist() == own
    assert FilterSet({"f": f}).evaluate(ROWS, NOW)["f"].tolist() == own


def test_all_shapes_together_share_leaves_and_each_keeps_its_own_result() -> None:
    filters = {where: compiled(where) for where in FUSED + LEFT_TO_THE_FILTER}
    masks = FilterSet(filters).evaluate(ROWS, NOW)
    assert list(masks) == list(filters)  # in the filters' order
    for where, f in filters.items():
        assert masks[where].tolist() == per_row(f, ROWS), where
    assert set(FusedWheres({k: f.where for k, f in filters.items()}).keys) == set(FUSED)


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_random_filters_fused_select_what_each_filter_and_each_row_selects(seed: int) -> None:
    rows = random_rows(300, seed=seed)
    filters = [compile_filter(sql) for sql in random_filter_sql(rows, 300, seed=seed)]  # thresholds from the rows
    rows += EDGE_ROWS
    filter_set = FilterSet(filters)
    assert len(FusedWheres(dict(enumerate(f.where for f in filters))).keys) == len(filters)  # all of them fused
    for size in (1, 37, len(rows)):  # several batch shapes
        for start in range(0, len(rows), size * 3):
            chunk = rows[start:start + size]
            batch = ColumnBatch.from_rows(chunk, filter_set.columns)
            masks = filter_set.evaluate_batch(batch, NOW)
            for i, f in enumerate(filters):
                assert masks[i].tolist() == f.matches_batch(batch, NOW).tolist() == per_row(f, chunk), (f.sql, start)
    some = filter_set.evaluate(rows, NOW)
    assert 0 < sum(int(m.sum()) for m in some.values()) < len(filters) * len(rows)  # neither nothing nor everything


def test_an_empty_batch_gives_empty_masks() -> None:
    filters = [compiled(where) for where in FUSED]
    assert all(len(mask) == 0 for mask in FilterSet(filters).evaluate([], NOW).values())


def test_a_column_held_in_another_dtype_runs_each_filter_s_own_code() -> None:
    filters = {"f": compiled("ra > 1.5 OR nDiaSources >= 3"), "ints": compiled("nDiaSources >= 3")}
    ra = np.array([1.0, 2.0, np.nan], dtype=np.float32)
    batch = ColumnBatch.from_columns(3, {"ra": (ra, np.isnan(ra)), "nDiaSources": (np.array([3, 0, 0]), np.zeros(3, bool))})
    assert list(FusedWheres({k: f.where for k, f in filters.items()}).masks(batch, NOW)) == ["ints"]
    masks = FilterSet(filters).evaluate_batch(batch, NOW)
    assert {k: m.tolist() for k, m in masks.items()} == {"f": [True, True, False], "ints": [True, False, False]}


def test_an_operand_whose_code_fails_leaves_its_filters_to_their_own_code() -> None:
    filters = {"sum": compiled("ra + 1 > 2 OR nDiaSources >= 3"), "ints": compiled("nDiaSources >= 3")}
    ra = np.array([1.0, 2.5, 0.0], dtype=object)  # isfinite() of an object array raises
    batch = ColumnBatch.from_columns(3, {"ra": (ra, np.zeros(3, bool)), "nDiaSources": (np.array([3, 0, 0]), np.zeros(3, bool))})
    with np.errstate(all="ignore"):
        assert list(FusedWheres({k: f.where for k, f in filters.items()}).masks(batch, NOW)) == ["ints"]
    masks = FilterSet(filters).evaluate_batch(batch, NOW)
    assert {k: m.tolist() for k, m in masks.items()} == {"sum": [True, True, False], "ints": [True, False, False]}


def test_joined_filters_are_fused_within_their_group() -> None:
    rows = [{"diaObjectId": 1, "ra": 10.0}, {"diaObjectId": 2, "ra": 20.0}, {"diaObjectId": 3, "ra": 30.0}]
    context = BatchContext(3, {"watchlist_hits": [
        [{"diaObjectId": 1, "wl_id": 5, "cone_id": 1, "name": "a", "arcsec": 0.5},
         {"diaObjectId": 1, "wl_id": 5, "cone_id": 2, "name": "b", "arcsec": 1.5}],
        [{"diaObjectId": 2, "wl_id": 6, "cone_id": 3, "name": "c", "arcsec": None}], []]})
    head = "SELECT objects.diaObjectId FROM objects, watchlist_hits w WHERE "
    wheres = {"near": "w.arcsec < 1", "list5": "w.wl_id = 5 AND objects.ra < 15", "far_or_6": "w.arcsec >= 1 OR w.wl_id = 6",
              "any": "objects.ra > 15 OR w.cone_id IN (1, 2)", "named": "w.name = 'c'"}
    filters = {key: compile_filter(head + where) for key, where in wheres.items()}
    assert set(FusedWheres({k: f.where for k, f in filters.items()}).keys) == set(wheres) - {"named"}
    masks = FilterSet(filters).evaluate(rows, NOW, context)
    assert {key: mask.tolist() for key, mask in masks.items()} == {
        "near": [True, False, False], "list5": [True, False, False], "far_or_6": [True, True, False],
        "any": [True, True, False], "named": [False, True, False]}


def test_dnfs_beyond_the_cap_are_left_to_the_filter() -> None:
    assert MAX_TERMS < 2**5
    wide = compiled(" AND ".join(f"(ra > {i} OR decl < {i})" for i in range(5)))
    assert FusedWheres({"f": wide.where}).keys == ()
