"""Joins with context tables: what compiles, what a user is told when it does not, what rows come
out, flux2mag, and the real Lasair filters that must compile unchanged."""
from __future__ import annotations

import math

import numpy as np
import pytest

from pipeline.context.batch import BatchContext
from pipeline.filters import FilterSet, compile_filter
from pipeline.filters.functions import flux2mag
from .test_filter_errors import at, refusal

NOW = 61000.0

# Real LSST-era Lasair filters (objects, objects_ext, sherlock_classifications, crossmatch_tns only),
# as Lasair's builder writes them from its documentation and notebooks. The lead runs them end to end.
REAL_LASAIR_FILTERS = [
    # docs/source/quickstart.md
    """SELECT objects.diaObjectId, objects.ra, objects.decl, mjdnow()-objects.lastDiaSourceMjdTai AS age,
sherlock_classifications.classification AS class
FROM objects, sherlock_classifications
WHERE objects.diaObjectId=sherlock_classifications.diaObjectId AND
 mjdnow() - objects.lastDiaSourceMjdTai < 7
AND (objects.g_psfFlux > 100000 OR objects.r_psfFlux > 100000)
AND objects.nDiaSources > 1
AND sherlock_classifications.classification in ("SN", "NT", "CV", "AGN")""",
    # docs/source/cookbook.md, "Find SNII from TNS" (crossmatch_tns token, TNS watchlist id 1 here)
    """SELECT objects.diaObjectId, crossmatch_tns.tns_prefix, crossmatch_tns.tns_name, crossmatch_tns.type
FROM objects, watchlist_hits, crossmatch_tns
WHERE objects.diaObjectId=watchlist_hits.diaObjectId AND watchlist_hits.wl_id=1 AND
 watchlist_hits.name=crossmatch_tns.tns_name AND crossmatch_tns.type = "SN II"
ORDER BY lastDiaSourceMjdTai DESC""",
    # the same as a user joining crossmatch_tns directly (this engine links TNS rows to objects)
    """SELECT objects.diaObjectId, crossmatch_tns.tns_prefix, crossmatch_tns.tns_name, crossmatch_tns.type
FROM objects, crossmatch_tns WHERE objects.diaObjectId=crossmatch_tns.diaObjectId AND crossmatch_tns.type = "SN II"
ORDER BY lastDiaSourceMjdTai DESC""",
    # cookbook.md, "Poking about in Gaia" (objects part)
    """SELECT objects.diaObjectId FROM objects WHERE objects.lastDiaSourceMjdTai > mjdnow()-365
and objects.jump1 > 5 and objects.nDiaSources > 10""",
    # cookbook.md, TDE: the clauses collected (absMag: the cookbook's peakExtCorrAbsMag is no column)
    """SELECT objects.diaObjectId FROM objects, sherlock_classifications
WHERE objects.diaObjectId=sherlock_classifications.diaObjectId AND
    mjdnow() - objects.lastDiaSourceMjdTai < 7
AND mjdnow() - objects.firstDiaSourceMjdTai < 30
AND objects.BBBRiseRate > 0.2
AND objects.latestPairColourTemp > 10
AND objects.penultimatePairColourTemp > 10
AND sherlock_classifications.classification in ('SN', 'NT')
AND absMag < -19""",
    # cookbook.md, TDE "bright enough" and the # comments the cookbook writes
    """SELECT objects.diaObjectId FROM objects
WHERE mjdnow() - objects.lastDiaSourceMjdTai < 7   # must be diaSource in last 7 days
AND (   objects.g_psfFlux > 100000               # 100000 nJ is mag 18.9
    OR  objects.g_psfFlux > 100000)""",
    # more_info/porting_from_ztf.md (objects_ext spelt with the underscore the builder rewrites)
    """SELECT objects.diaObjectId FROM objects, sherlock_classifications
WHERE objects.diaObjectId=sherlock_classifications.diaObjectId AND
sherlock_classifications.classification = "AGN"
AND objects.nDiaSources >= 1
AND objects.decl < 10
AND objects.g_latestMJD > mjdnow() - 7
AND (objects.r_psfFlux > 50000 OR objects.g_psfFlux > 50000)
AND (objects_ext.r_psfFluxSigma > 10000)
AND objects.BBBRiseRate > 0.2""",
    # core_functions/make_filter.md
    """SELECT objects.diaObjectId, objects.g_psfFlux, mjdnow()-objects.lastDiaSourceMjdTai AS since
FROM objects WHERE objects.g_psfFlux > 200000 ORDER BY objects.lastDiaSourceMjdTai DESC""",
    # lasair-examples notebooks/query.ipynb: tables objects,sherlock_classifications, conditions classification="SN"
    """SELECT objects.diaObjectId FROM objects, sherlock_classifications
WHERE objects.diaObjectId=sherlock_classifications.diaObjectId AND classification="SN\"""",
    # objects_ext in FROM (Lasair's builder rewrites it to objects)
    "SELECT objects_ext.r_psfFluxSigma FROM objects_ext WHERE objects_ext.r_psfFluxSigma > 10000",
]


@pytest.mark.parametrize("sql", REAL_LASAIR_FILTERS)
def test_real_lasair_filters_compile_unchanged(sql: str) -> None:
    compile_filter(sql)


# ---------------------------------------------------------------- refusals


@pytest.mark.parametrize("sql, token, cause, suggestions", [
    ("SELECT objects.ra FROM objects, sherlock_classification", "sherlock_classification",
     "unknown table 'sherlock_classification'", ["sherlock_classifications"]),
    ("SELECT objects.ra FROM objects, sherlock", "sherlock", "unknown table 'sherlock'", ["sherlock_classifications"]),
    ("SELECT objects.ra FROM objects, sherlock_classifications WHERE sherlock_classifications.clasification = 'SN'",
     "sherlock_classifications.clasification", "unknown column 'clasification' of sherlock_classifications",
     ["classification", "classificationReliability"]),
    ("SELECT z FROM objects, sherlock_classifications, crossmatch_tns", "z",
     "column 'z' is ambiguous: write sherlock_classifications.z or crossmatch_tns.z", []),
    ("SELECT ra FROM objects, crossmatch_tns", "ra", "column 'ra' is ambiguous", []),
    ("SELECT objects.ra FROM objects, crossmatch_tns WHERE objects.tns_name = crossmatch_tns.tns_name",
     "objects.tns_name =", "join on something other than diaObjectId", []),
    ("SELECT objects.ra FROM objects JOIN crossmatch_tns ON objects.ra = crossmatch_tns.ra", "objects.ra =",
     "join on something other than diaObjectId", []),
    ("SELECT objects.ra FROM objects, sherlock_classifications s WHERE objects.ra BETWEEN s.raDeg AND 10",
     "objects.ra BETWEEN", "join on something other than diaObjectId", []),
    ("SELECT objects.ra FROM objects, sherlock_classifications s WHERE objects.diaObjectId < s.diaObjectId",
     "objects.diaObjectId <", "diaObjectId equality only", []),
    ("SELECT objects.ra FROM objects LEFT JOIN crossmatch_tns USING (diaObjectId)", "crossmatch_tns",
     "LEFT JOIN is not supported", []),
    ("SELECT objects.ra FROM objects JOIN crossmatch_tns USING (tns_name)", "tns_name", "joined on diaObjectId only", []),
    ("SELECT objects.ra FROM objects, area_hits, area_hits", "area_hits", "used twice in FROM", []),
    ("SELECT objects.ra FROM objects, objects_ext", "objects_ext", "the name 'objects' is used twice", []),
    ("SELECT s.ra FROM sherlock_classifications s", "sherlock_classifications", "must read FROM objects", []),
    ("SELECT sherlock_classifications.z FROM objects, sherlock_classifications AS s", "sherlock_classifications.z",
     "called 's'", []),
    ("SELECT objects.ra FROM objects, sherlock_classifications WHERE crossmatch_tns.z > 1", "crossmatch_tns.z",
     "'crossmatch_tns' is not in this filter's FROM list", []),
    ("SELECT objects.ra FROM objects WHERE sherlok.z > 1", "sherlok.z", "unknown table 'sherlok'", []),
    ("SELECT FLUX2MAG(g_psfFlux, 1) FROM objects", "FLUX2MAG", "takes one argument", []),
    ("SELECT objects.ra FROM objects, crossmatch_tns WHERE crossmatch_tns.type > 1", "1", "cannot mix strings", []),
])
def test_join_refusals_say_where_and_why(sql: str, token: str, cause: str, suggestions: list[str]) -> None:
    error = refusal(sql)
    assert cause in error.cause
    assert (error.line, error.column) == at(sql, token, 2 if "twice" in cause and sql.count(token) > 1 else 1)
    assert list(error.suggestions) == suggestions


# ---------------------------------------------------------------- rows out

ROWS = [{"diaObjectId": 1, "ra": 10.0, "g_psfFlux": 1e5}, {"diaObjectId": 2, "ra": 20.0},
        {"diaObjectId": 3, "ra": 30.0}]
CONTEXT = BatchContext(3, {
    "sherlock_classifications": [[{"diaObjectId": 1, "classification": "SN", "z": 0.1}],
                                 [{"diaObjectId": 2, "classification": "VS"}], []],
    "watchlist_hits": [[{"diaObjectId": 1, "wl_id": 5, "cone_id": 1, "name": "a", "arcsec": 0.5},
                        {"diaObjectId": 1, "wl_id": 5, "cone_id": 2, "name": "b", "arcsec": 1.5}],
                       [{"diaObjectId": 2, "wl_id": 6, "cone_id": 3, "name": "c", "arcsec": None}], []],
})


def rows_of(sql: str, context: BatchContext | None = CONTEXT) -> list[tuple[int, dict]]:
    f = compile_filter(sql)
    selection = FilterSet({"f": f}).select(ROWS, context, NOW).get("f")
    if selection is None:
        return []
    joined = selection.joined or [{} for _ in selection.alerts]
    return [(int(a), f.project({**ROWS[a], **j}, NOW)) for a, j in zip(selection.alerts, joined)]


def test_one_row_per_joined_row_and_none_without_a_context_row() -> None:
    sql = ("SELECT objects.diaObjectId, watchlist_hits.name, watchlist_hits.arcsec FROM objects, watchlist_hits "
           "WHERE objects.diaObjectId=watchlist_hits.diaObjectId AND watchlist_hits.wl_id=5")
    assert rows_of(sql) == [(0, {"diaObjectId": 1, "name": "a", "arcsec": 0.5}),
                            (0, {"diaObjectId": 1, "name": "b", "arcsec": 1.5})]
    both = "SELECT objects.diaObjectId, s.classification, w.cone_id FROM objects, sherlock_classifications s, watchlist_hits w"
    assert [a for a, _ in rows_of(both)] == [0, 0, 1]  # object 3 has no rows: no result


def test_the_id_equality_written_or_not_and_any_spelling_mean_the_same() -> None:
    written = rows_of("SELECT objects.diaObjectId, s.z FROM objects, sherlock_classifications AS s "
                      "WHERE objects.diaObjectId = s.diaObjectId AND s.classification = 'sn'")
    assert written == [(0, {"diaObjectId": 1, "z": 0.1})]
    assert rows_of("select OBJECTS.DIAOBJECTID, S.Z from Objects, SHERLOCK_CLASSIFICATIONS as S "
                   "where s.CLASSIFICATION = 'SN'") == written  # output keys in the columns' own spelling
    assert rows_of("SELECT objects.diaObjectId, s.z FROM objects JOIN sherlock_classifications s "
                   "ON s.diaObjectId = objects.diaObjectId WHERE s.classification = 'SN'") == written
    assert rows_of("SELECT objects.diaObjectId, s.z FROM objects INNER JOIN sherlock_classifications s "
                   "USING (diaObjectId) WHERE s.classification = 'SN'") == written


def test_without_context_joined_filters_match_nothing_and_plain_ones_run_as_before() -> None:
    sql = "SELECT objects.diaObjectId FROM objects, sherlock_classifications"
    assert rows_of(sql, None) == [] and rows_of(sql, BatchContext.empty(3)) == []
    assert [a for a, _ in rows_of("SELECT diaObjectId FROM objects WHERE ra > 15", None)] == [1, 2]
    masks = FilterSet([compile_filter(sql)]).evaluate(ROWS, NOW, CONTEXT)
    assert masks[0].tolist() == [True, True, False]


def test_joins_and_columns_are_exposed() -> None:
    f = compile_filter("SELECT objects.diaObjectId FROM objects_ext, area_hits as ar0, area_hits AS AR1 "
                       "WHERE ar0.ar_id = 1 AND ar1.ar_id = 2 AND objects.r_psfFluxSigma > 0")
    assert f.joins == (("area_hits", "ar0"), ("area_hits", "ar1"))
    assert f.where_columns == {"ar0.ar_id", "ar1.ar_id", "r_psfFluxSigma"}
    assert compile_filter("SELECT diaObjectId FROM objects").joins == ()


def test_the_tns_link_is_the_one_other_join_allowed() -> None:
    f = compile_filter("SELECT crossmatch_tns.tns_name FROM objects, watchlist_hits, crossmatch_tns "
                       "WHERE watchlist_hits.name = crossmatch_tns.tns_name")
    context = BatchContext(1, {"watchlist_hits": [[{"name": "2024abc"}, {"name": "x"}]],
                               "crossmatch_tns": [[{"tns_name": "2024ABC"}, {"tns_name": "y"}]]})
    selection = FilterSet([f]).select(ROWS[:1], context, NOW)[0]
    assert [f.project({**ROWS[0], **j}) for j in selection.joined] == [{"tns_name": "2024ABC"}]


def test_select_star_with_a_join_gives_every_table_s_columns() -> None:
    f = compile_filter("SELECT s.* FROM objects, sherlock_classifications s")
    assert f.output_fields[:3] == ("diaObjectId", "classification", "association_type")
    assert "summary" in compile_filter("SELECT * FROM objects, sherlock_classifications").output_fields


# ---------------------------------------------------------------- flux2mag


def test_flux2mag_is_lasairs_single_precision_definition() -> None:
    f = compile_filter("SELECT flux2mag(objects.g_psfFlux) AS m FROM objects WHERE flux2mag(g_psfFlux) < 19")
    expected = float(np.float32(-2.5 * math.log10(float(np.float32(1e5))) + 31.4))
    assert expected == pytest.approx(18.9, abs=1e-5) and expected != 18.9
    assert f.project({"g_psfFlux": 1e5}) == {"m": expected}
    for flux in (0.0, -3.0, None, float("nan"), 1e-50):  # 1e-50 is 0 as a FLOAT: not positive
        assert f.project({"g_psfFlux": flux}) == {"m": None}
    rows = [{"g_psfFlux": v} for v in (1e5, 1e4, 0.0, None, 3e5)]
    assert FilterSet([f]).evaluate(rows)[0].tolist() == [f.matches(r) for r in rows] == [True, False, False, False, True]
    assert np.isnan(flux2mag(-1.0)) and flux2mag(np.array([1.0]))[0] == np.float32(31.4)
