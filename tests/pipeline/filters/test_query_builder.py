"""Lasair's three-part form: every table token builds the SQL Lasair's builder builds, and every
refusal (Lasair's and ours) is one clear message."""
from __future__ import annotations

import pytest

from pipeline.context.tables import CONTEXT_TABLES
from pipeline.filters import FilterError, compile_filter
from pipeline.filters.query_builder import build_query

ALL = frozenset(CONTEXT_TABLES)
TNS_ID = 7


def build(selected: str, tables: str, conditions: str | None = None, available: frozenset[str] = ALL) -> str:
    return build_query(selected, tables, conditions, available=available, tns_watchlist_id=TNS_ID)


@pytest.mark.parametrize("tables, from_list, clauses", [
    ("", "objects", []),
    ("objects", "objects", []),
    ("objects_ext", "objects", []),
    (" Objects , SHERLOCK_CLASSIFICATIONS ", "objects, sherlock_classifications",
     ["objects.diaObjectId=sherlock_classifications.diaObjectId"]),
    ("objects, watchlist:31", "objects, watchlist_hits",
     ["objects.diaObjectId=watchlist_hits.diaObjectId", "watchlist_hits.wl_id=31"]),
    ("area:116", "objects, area_hits", ["objects.diaObjectId=area_hits.diaObjectId", "area_hits.ar_id=116"]),
    ("watchmap:116", "objects, area_hits", ["objects.diaObjectId=area_hits.diaObjectId", "area_hits.ar_id=116"]),
    ("area:1, area:2", "objects, area_hits", ["objects.diaObjectId=area_hits.diaObjectId", "area_hits.ar_id=2"]),
    ("area:3&4", "objects, area_hits as ar0, area_hits as ar1",
     ["objects.diaObjectId=ar0.diaObjectId", "ar0.ar_id=3", "objects.diaObjectId=ar1.diaObjectId", "ar1.ar_id=4"]),
    ("crossmatch_tns", "objects, watchlist_hits, crossmatch_tns",
     ["objects.diaObjectId=watchlist_hits.diaObjectId", f"watchlist_hits.wl_id={TNS_ID}",
      "watchlist_hits.name=crossmatch_tns.tns_name"]),
    ("annotator:NEEDLE_LSST", "objects, annotations AS needle_lsst",
     ["objects.diaObjectId=needle_lsst.diaObjectId", 'needle_lsst.topic="needle_lsst"']),
    ("annotator:a&b, annotator:c", "objects, annotations AS a, annotations AS b, annotations AS c",
     ["objects.diaObjectId=a.diaObjectId", 'a.topic="a"', "objects.diaObjectId=b.diaObjectId", 'b.topic="b"',
      "objects.diaObjectId=c.diaObjectId", 'c.topic="c"']),
    ("objects,sherlock_classifications,watchlist:139,area:116", "objects, sherlock_classifications, watchlist_hits, area_hits",
     ["objects.diaObjectId=sherlock_classifications.diaObjectId", "objects.diaObjectId=watchlist_hits.diaObjectId",
      "watchlist_hits.wl_id=139", "objects.diaObjectId=area_hits.diaObjectId", "area_hits.ar_id=116"]),
])
def test_every_token_translates_as_lasair_and_compiles(tables: str, from_list: str, clauses: list[str]) -> None:
    sql = build("objects.diaObjectId", tables)
    expected = f"SELECT objects.diaObjectId \nFROM {from_list}" + (" \nWHERE\n " + " AND\n ".join(clauses) if clauses else "")
    assert sql == expected
    compile_filter(sql)


def test_quotes_objects_ext_and_the_conditions_as_lasair_writes_them() -> None:
    sql = build("objects_ext.r_psfFluxSigma, 'x' AS y", "sherlock_classifications",
                "sherlock_classifications.classification in ('SN', 'NT') OR objects_ext.r_psfFluxSigma > 1")
    assert sql == ('SELECT objects.r_psfFluxSigma, "x" AS y \nFROM objects, sherlock_classifications \nWHERE\n '
                   "objects.diaObjectId=sherlock_classifications.diaObjectId AND\n "
                   'sherlock_classifications.classification in ("SN", "NT") OR objects.r_psfFluxSigma > 1')
    compile_filter(sql)


def test_conditions_that_are_only_an_order_follow_the_where() -> None:
    assert build("objects.ra", "objects", "ORDER BY objects.ra") == "SELECT objects.ra \nFROM objects ORDER BY objects.ra"
    assert build("objects.ra", "sherlock_classifications", " order by ra").endswith(
        "objects.diaObjectId=sherlock_classifications.diaObjectId  order by ra")
    assert build("objects.ra", "objects", "   ") == "SELECT objects.ra \nFROM objects"


@pytest.mark.parametrize("selected, tables, conditions, message", [
    ("  ", "objects", None, "SELECT part cannot be blank"),
    ("ra # x", "objects", None, "cannot use # in the SELECT clause"),
    ("ra", "objects", "ra > 1 /* x */", "cannot use /* in the WHERE clause"),
    ("ra", "objects", "ra > 1; DROP TABLE objects", "cannot use ; in the WHERE clause"),
    ("ra || decl", "objects", None, "cannot use || in the SELECT clause"),
    ("ra", "objects", "tns_name = 'a\\\\b'", "cannot use \\ in the WHERE clause"),
    ("ra FROM objects", "objects", None, "cannot use the word FROM in the SELECT clause"),
    ("sleep(5)", "objects", None, "cannot use the word SLEEP in the SELECT clause"),
    ("(select 1)", "objects", None, "cannot use the word SELECT in the SELECT clause"),
    ("ra", "objects", "ra > 1 UNION select 1", "cannot use the word SELECT in the WHERE clause"),
    ("ra", "objects", "ra > 1 into outfile", "cannot use the word INTO in the WHERE clause"),
    ("ra", "objects", "ra > 1 limit 5", "do not put LIMIT in the WHERE clause"),
    ("ra", "objects", "ra > 1 offset 5", "do not put OFFSET in the WHERE clause"),
    ("ra", "watchlist:abc", None, "'watchlist:abc' is not of the form watchlist:N"),
    ("ra", "watchlist:1&2", None, "one watchlist per filter"),
    ("ra", "area:1&x", None, "'area:1&x' is not of the form area:N or area:N&M"),
    ("ra", "annotator:", None, "not of the form annotator:topic"),
    ("ra", "watchlist:3, crossmatch_tns", None, "cannot have both watchlist and crossmatch_tns"),
    ("ra", "objects, watchlists:139", None, "unknown table token 'watchlists:139'"),
    ("ra", "objects, sherlock", None, "unknown table token 'sherlock'"),
])
def test_refusals(selected: str, tables: str, conditions: str | None, message: str) -> None:
    with pytest.raises(FilterError) as caught:
        build(selected, tables, conditions)
    assert message in str(caught.value)


def test_lasairs_leading_comment_rule_and_case_sensitive_limit() -> None:
    # Lasair drops a first line whose first word holds a dash before its word check, and tests
    # limit/offset in lower case only: both reproduced (the compiler then ignores LIMIT with a warning).
    build("ra", "objects", "g-r select")
    assert build("ra", "objects", "ra > 1 LIMIT 5").endswith("ra > 1 LIMIT 5")


def test_tokens_for_tables_without_a_source_are_refused_by_name() -> None:
    with pytest.raises(FilterError, match="no data source for watchlist_hits, area_hits yet"):
        build("ra", "watchlist:1, area:2", available=frozenset({"sherlock_classifications"}))
    with pytest.raises(FilterError, match="no data source for crossmatch_tns yet"):
        build("ra", "crossmatch_tns", available=frozenset({"watchlist_hits"}))
    assert build("ra", "sherlock_classifications", available=frozenset({"sherlock_classifications"}))


# Three-part filters from Lasair's notebooks (lsst-uk/lasair-examples), as their authors wrote them.
LASAIR_THREE_PART = [
    # features/milky_way.ipynb
    (" \n  objects.diaObjectId, objects.ra, objects.decl, \n  sherlock_classifications.z, sherlock_classifications.photoz\n",
     "objects,sherlock_classifications",
     '\n  objects.nDiaSources > 5 AND\n  classification="SN" AND \n'
     "  (sherlock_classifications.z > 0 OR sherlock_classifications.photoz > 0)\n"),
    # notebooks/query.ipynb
    ("objects.diaObjectId, objects.ra, objects.decl", "objects,sherlock_classifications", 'classification="SN"'),
    ("objects.diaObjectId, objects.ra, objects.decl", "objects,sherlock_classifications",
     'nDiaSources > 4 AND classification="SN"'),
    # notebooks/watchlist.ipynb
    ("\nobjects.diaObjectId, watchlist_hits.name, watchlist_hits.arcsec\n", "objects, watchlist:31", ""),
]


@pytest.mark.parametrize("selected, tables, conditions", LASAIR_THREE_PART)
def test_lasair_notebook_filters_build_and_compile(selected: str, tables: str, conditions: str) -> None:
    compile_filter(build(selected, tables, conditions))
